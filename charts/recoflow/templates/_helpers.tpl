{{/*
recoflow.name is the chart name, or nameOverride.
*/}}
{{- define "recoflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
recoflow.fullname names the release's objects: fullnameOverride, else the release name when it
already contains the chart name, else <release>-<chart>.
*/}}
{{- define "recoflow.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
recoflow.operatorName names the operator's Deployment, Service and RBAC objects.
*/}}
{{- define "recoflow.operatorName" -}}
{{- printf "%s-operator" (include "recoflow.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
recoflow.labels are the labels of every object the chart makes.
*/}}
{{- define "recoflow.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "recoflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: recoflow
{{- end }}

{{/*
recoflow.operatorSelectorLabels select the operator's pods.
*/}}
{{- define "recoflow.operatorSelectorLabels" -}}
app.kubernetes.io/name: {{ include "recoflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/*
recoflow.serviceAccountName is the operator's ServiceAccount.
*/}}
{{- define "recoflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "recoflow.operatorName" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
recoflow.image is the reference of one recoflow image, <registry>/recoflow-<component>:<tag>;
call it with (list $ "operator"). An empty registry gives the bare name (as Tilt expects).
*/}}
{{- define "recoflow.image" -}}
{{- $root := index . 0 }}
{{- $name := printf "recoflow-%s:%s" (index . 1) (default $root.Chart.AppVersion $root.Values.image.tag) }}
{{- with trimSuffix "/" $root.Values.image.registry }}
{{- printf "%s/%s" . $name }}
{{- else }}
{{- $name }}
{{- end }}
{{- end }}
