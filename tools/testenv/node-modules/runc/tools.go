//go:build tools

// Pins runc for the VM tier's kubelet nodes: build-node.sh builds it from this module.
package tools

import _ "github.com/opencontainers/runc"
