// Original file: src/csi/pluginregistration.proto


export interface InfoRequest {
}

export interface InfoRequest__Output {
}
