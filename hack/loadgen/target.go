package main

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// checkLoopback refuses a target that is not on this machine: the load program is for local
// pipelines (a cluster is reached through a port-forward), and it must never load someone
// else's server by mistake. target is a URL or a host:port whose host is "localhost" (which
// always means this machine, RFC 6761) or a loopback IP address; no other name is resolved.
func checkLoopback(target string) error {
	host := target
	if strings.Contains(target, "://") {
		u, err := url.Parse(target)
		if err != nil {
			return fmt.Errorf("target %q: %w", target, err)
		}
		if u.Scheme != "http" {
			return fmt.Errorf("target %q: only http URLs are supported", target)
		}
		host = u.Hostname()
	} else if h, _, err := net.SplitHostPort(target); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("target %q is not on this machine: use localhost or a loopback address such as 127.0.0.1", target)
}
