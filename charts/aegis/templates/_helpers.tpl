{{/* Chart name (app.kubernetes.io/name). */}}
{{- define "aegis.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Base name of AEGIS's objects: "aegis" unless overridden (one AEGIS per cluster: its
ValidatingWebhookConfiguration is always named "aegis"). */}}
{{- define "aegis.fullname" -}}
{{- default "aegis" .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- end -}}

{{- define "aegis.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "aegis.selectorLabels" -}}
app.kubernetes.io/name: {{ include "aegis.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "aegis.labels" -}}
helm.sh/chart: {{ include "aegis.chart" . }}
{{ include "aegis.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: aegis
{{- end -}}

{{- define "aegis.serviceAccountName" -}}
{{- .Values.serviceAccount.name -}}
{{- end -}}

{{- define "aegis.apiServiceName" -}}
{{- printf "%s-api" (include "aegis.fullname" .) -}}
{{- end -}}

{{- define "aegis.webhookServiceName" -}}
{{- printf "%s-webhook" (include "aegis.fullname" .) -}}
{{- end -}}

{{- define "aegis.webhookCertName" -}}
{{- printf "%s-webhook-tls" (include "aegis.fullname" .) -}}
{{- end -}}

{{/* The Certificate (and its Secret) cert-manager issues for the API Service (api.tls). */}}
{{- define "aegis.apiCertName" -}}
{{- printf "%s-api-tls" (include "aegis.fullname" .) -}}
{{- end -}}

{{/* The Secret the API serves from with api.tls.enabled: api.tls.existingSecret, else cert-manager's. */}}
{{- define "aegis.apiTlsSecretName" -}}
{{- default (include "aegis.apiCertName" .) .Values.api.tls.existingSecret -}}
{{- end -}}

{{/* The API port's name: https-api with api.tls.enabled (a mesh reading the prefix must not parse it as HTTP). */}}
{{- define "aegis.apiPortName" -}}
{{- ternary "https-api" "http-api" (and .Values.api.tls.enabled true) -}}
{{- end -}}

{{/* A probe from values, with scheme HTTPS on its httpGet when the API serves TLS. Args: list PROBE ROOT */}}
{{- define "aegis.probe" -}}
{{- $probe := deepCopy (index . 0) -}}
{{- $root := index . 1 -}}
{{- if and $root.Values.api.tls.enabled (hasKey $probe "httpGet") -}}
{{- $_ := set $probe.httpGet "scheme" "HTTPS" -}}
{{- end -}}
{{- toYaml $probe -}}
{{- end -}}

{{/* The Secret the chart renders for values given in plain text (DATABASE_URL, REDIS_URL). */}}
{{- define "aegis.envSecretName" -}}
{{- printf "%s-env" (include "aegis.fullname" .) -}}
{{- end -}}

{{- define "aegis.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* An env var from a Secret key. Args: list NAME SECRET KEY OPTIONAL */}}
{{- define "aegis.secretEnv" -}}
- name: {{ index . 0 }}
  valueFrom:
    secretKeyRef:
      name: {{ index . 1 | quote }}
      key: {{ index . 2 | quote }}
      {{- if index . 3 }}
      optional: true
      {{- end }}
{{- end -}}

{{/* The Secret holding the evidence signing key the chart creates (unless evidenceSigningKey.existingSecret). */}}
{{- define "aegis.signingKeySecretName" -}}
{{- printf "%s-evidence-signing-key" (include "aegis.fullname" .) -}}
{{- end -}}
