{{- define "standin.registry" -}}
{{- .root.Values.global.imageRegistry | default .registry -}}
{{- end -}}
