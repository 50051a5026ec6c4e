{{/*
Shared pieces of the Loam templates. Object names are fixed (loam-node, loam-controller,
loam-scheduler): the CSI driver, the StorageClasses and the webhook are cluster-wide, so one
release of Loam serves a cluster.
*/}}

{{/* Labels of every object; `component` is the part it belongs to. */}}
{{- define "loam.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: loam
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: loam
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end }}

{{/* Selector labels of a component's pods (stable across upgrades: no version in them). */}}
{{- define "loam.selectorLabels" -}}
app.kubernetes.io/name: loam
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The Loam image: repository:tag, the tag defaulting to the chart's appVersion. */}}
{{- define "loam.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/*
securityContext of an unprivileged container: no privilege, no capability, read-only root.
Every container of the controller and scheduler pods runs as the pod's non-root user, so the CSI
socket (mode 0600, owned by that user) is reachable by exactly the containers of its pod.
*/}}
{{- define "loam.restrictedContainerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end }}

{{/* securityContext of an unprivileged pod. */}}
{{- define "loam.restrictedPodSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Environment of POD_NAME and NAMESPACE from the downward API (leader identity, lease namespace, capacity owner). */}}
{{- define "loam.podEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- end }}

{{/* HTTP probes of a Loam server's --health-listen port: liveness /healthz, readiness /readyz. */}}
{{- define "loam.healthProbes" -}}
# Liveness starts once /healthz first answers: a start slowed by a loaded node (five Node.js
# processes on one busy CPU took over a minute on the VM tier) is given 5 minutes, not killed and
# restarted into the same contention.
startupProbe:
  httpGet:
    path: /healthz
    port: health
  periodSeconds: 5
  timeoutSeconds: 5
  failureThreshold: 60
livenessProbe:
  httpGet:
    path: /healthz
    port: health
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 6
readinessProbe:
  httpGet:
    path: /readyz
    port: health
  periodSeconds: 5
  timeoutSeconds: 5
  failureThreshold: 3
{{- end }}

{{/*
What every Loam pod spec shares: image pull secrets, and the scheduling knobs of its component's
values (nodeSelector, tolerations, affinity, priorityClassName). Call with (dict "root" $ "values" .Values.<component>).
*/}}
{{- define "loam.podCommon" -}}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end }}

{{/* The scheduler's Service and webhook exist only in mode scheduler with the webhook on. */}}
{{- define "loam.webhookEnabled" -}}
{{- if and (eq .Values.scheduler.mode "scheduler") .Values.scheduler.webhook.enabled }}true{{ end }}
{{- end }}
