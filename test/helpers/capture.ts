/** An output stream for CLI functions under test: collects what they write. */
export function capture(): { write: (text: string) => boolean; text: () => string } {
  let out = "";
  return { write: (text) => ((out += text), true), text: () => out };
}
