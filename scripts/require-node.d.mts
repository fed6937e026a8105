// Types of scripts/require-node.mjs, for the unit test that imports it.
export declare const MIN_NODE_MAJOR: number;
export declare function nodeTooOld(command: string, version: string, minMajor?: number): string | undefined;
export declare function npmCommand(event: string | undefined): string;
