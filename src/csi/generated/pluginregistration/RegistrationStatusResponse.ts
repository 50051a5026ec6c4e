// Original file: src/csi/pluginregistration.proto


export interface RegistrationStatusResponse {
}

export interface RegistrationStatusResponse__Output {
}
