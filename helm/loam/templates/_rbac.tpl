{{/*
A binding of a component's ServiceAccount (loam-<component>) to a role: the one shape every
binding of rbac-*.yaml has. Arguments (a dict): root, component, kind (ClusterRoleBinding or
RoleBinding), name, namespace (RoleBinding only), roleKind, role.
*/}}
{{- define "loam.rbacBinding" -}}
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ .kind }}
metadata:
  name: {{ .name }}
  {{- with .namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    {{- include "loam.labels" (dict "root" .root "component" .component) | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: {{ .roleKind }}
  name: {{ .role }}
subjects:
  - kind: ServiceAccount
    name: loam-{{ .component }}
    namespace: {{ .root.Release.Namespace }}
{{- end }}
