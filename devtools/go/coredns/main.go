// Command coredns is the local cluster's DNS server: CoreDNS with only the plugins the cluster's Corefile uses.
//
// A full CoreDNS build links every cloud DNS backend; the local cluster needs Kubernetes service discovery,
// forwarding to the host's resolver and the health endpoints, so this build keeps those and stays small.
// The directive list must keep CoreDNS's own execution order (its plugin.cfg); only the subset is ours.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/ready"
)

func init() {
	dnsserver.Directives = []string{"bind", "ready", "health", "errors", "log", "cache", "kubernetes", "loop", "forward"}
}

func main() {
	coremain.Run()
}
