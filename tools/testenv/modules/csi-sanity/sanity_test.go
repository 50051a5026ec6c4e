// Package csisanity runs the csi-test sanity suite against a CSI driver's sockets.
// Built with `go test -c` into a binary that takes its settings from flags or environment:
//
//	csi-sanity -csi.endpoint=/path/node.sock -csi.controllerendpoint=/path/controller.sock
//	CSI_ENDPOINT, CSI_CONTROLLER_ENDPOINT, CSI_STAGING_DIR, CSI_TARGET_DIR, CSI_TEST_VOLUME_SIZE
package csisanity

import (
	"flag"
	"os"
	"strconv"
	"testing"

	"github.com/kubernetes-csi/csi-test/v5/pkg/sanity"
)

var config = sanity.NewTestConfig()

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func init() {
	flag.StringVar(&config.Address, "csi.endpoint", envOr("CSI_ENDPOINT", ""), "node (or single) service socket")
	flag.StringVar(&config.ControllerAddress, "csi.controllerendpoint", envOr("CSI_CONTROLLER_ENDPOINT", ""), "controller service socket")
	flag.StringVar(&config.StagingPath, "csi.stagingdir", envOr("CSI_STAGING_DIR", config.StagingPath), "staging path to use")
	flag.StringVar(&config.TargetPath, "csi.mountdir", envOr("CSI_TARGET_DIR", config.TargetPath), "publish path to use")
	flag.StringVar(&config.TestVolumeParametersFile, "csi.testvolumeparameters", envOr("CSI_TEST_VOLUME_PARAMETERS", ""), "YAML file of CreateVolume parameters")
	size, _ := strconv.ParseInt(envOr("CSI_TEST_VOLUME_SIZE", "0"), 10, 64)
	flag.Int64Var(&config.TestVolumeSize, "csi.testvolumesize", size, "bytes of test volumes (0: driver default)")
	flag.Int64Var(&config.TestVolumeExpandSize, "csi.testvolumeexpandsize", 0, "bytes to expand test volumes to")
	flag.BoolVar(&config.TestNodeVolumeAttachLimit, "csi.testnodevolumeattachlimit", false, "test the node volume attach limit")
}

func TestSanity(t *testing.T) {
	if config.Address == "" {
		t.Fatal("set -csi.endpoint or CSI_ENDPOINT to the driver's socket")
	}
	sanity.Test(t, config)
}
