{{- define "memory-service.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "memory-service.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "memory-service.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "memory-service.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "memory-service.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "memory-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of one component (api or worker). */}}
{{- define "memory-service.selector" -}}
app.kubernetes.io/name: {{ include "memory-service.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "memory-service.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "memory-service.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "memory-service.keysSecret" -}}
{{- default (printf "%s-keys" (include "memory-service.fullname" .)) .Values.secrets.existingSecret }}
{{- end }}

{{- define "memory-service.auditSecret" -}}
{{- default (printf "%s-audit-key" (include "memory-service.fullname" .)) .Values.secrets.existingAuditSecret }}
{{- end }}

{{- define "memory-service.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The pod spec shared by the API and the worker: non-root, read-only root filesystem, no
service-account token, the data dir and /tmp on emptyDirs (nothing durable lives in the pod:
PostgreSQL and Qdrant hold the data), keys from Secrets only.
*/}}
{{- define "memory-service.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "memory-service.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end }}

{{- define "memory-service.env" -}}
{{- range $name, $value := .Values.config }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{/* A subdirectory of the emptyDir: the service chmods its data dir, which it must own. */}}
- name: MEMORY_DATA_DIR
  value: /var/lib/memory-service/data
{{- range $name := list "MEMORY_DATABASE_URL" "MEMORY_BOOTSTRAP_ADMIN_KEY" "MEMORY_ENCRYPTION_KEY" "MEMORY_PSEUDONYM_KEY" }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "memory-service.keysSecret" $ }}
      key: {{ $name }}
{{- end }}
- name: MEMORY_QDRANT_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "memory-service.keysSecret" . }}
      key: MEMORY_QDRANT_API_KEY
      optional: true
- name: MEMORY_AUDIT_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "memory-service.auditSecret" . }}
      key: MEMORY_AUDIT_KEY
{{- end }}

{{- define "memory-service.volumes" -}}
- name: data
  emptyDir:
    sizeLimit: 256Mi
- name: tmp
  emptyDir:
    sizeLimit: 512Mi
{{- end }}

{{- define "memory-service.volumeMounts" -}}
- name: data
  mountPath: /var/lib/memory-service
- name: tmp
  mountPath: /tmp
{{- end }}
