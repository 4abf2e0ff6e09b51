package peer

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// parseProxyURL checks an http:// or https:// CONNECT proxy URL.
func parseProxyURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: proxy URL: %v", ErrInvalidArgument, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: proxy URL scheme must be http or https", ErrInvalidArgument)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%w: proxy URL has no host", ErrInvalidArgument)
	}
	if !validHost(u) {
		return nil, fmt.Errorf("%w: proxy URL has a bad host %q", ErrInvalidArgument, u.Host)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%w: proxy URL has a bad port %q", ErrInvalidArgument, p)
		}
	}
	return u, nil
}

// proxyAddr is the host:port of the proxy (port 80 or 443 by default).
func proxyAddr(pu *url.URL) string {
	if pu.Port() != "" {
		return pu.Host
	}
	if pu.Scheme == "https" {
		return net.JoinHostPort(pu.Hostname(), "443")
	}
	return net.JoinHostPort(pu.Hostname(), "80")
}

// dialProxy opens a tunnel to addr through an HTTP CONNECT proxy (over TLS
// for https:// proxies), with basic auth from the URL's user info. cc is the
// counting wrapper of the TCP connection to the proxy.
func dialProxy(ctx context.Context, pu *url.URL, addr string, tlsCfg *tls.Config, dialTCP func(context.Context, string) (*countingConn, error)) (net.Conn, error) {
	cc, err := dialTCP(ctx, proxyAddr(pu))
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	var conn net.Conn = cc
	ok := false
	defer func() {
		if !ok {
			_ = cc.closeConn()
		}
	}()
	stop := context.AfterFunc(ctx, func() { _ = cc.closeConn() })
	defer stop()
	if d, has := ctx.Deadline(); has {
		_ = cc.SetDeadline(d)
		defer func() { _ = cc.SetDeadline(time.Time{}) }()
	}
	if pu.Scheme == "https" {
		var cfg *tls.Config
		if tlsCfg != nil {
			cfg = tlsCfg.Clone()
		} else {
			cfg = &tls.Config{}
		}
		cfg.ServerName = pu.Hostname()
		cfg.NextProtos = nil
		tc := tls.Client(cc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("proxy TLS: %w", err)
		}
		conn = tc
	}
	req := "CONNECT " + addr + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	if u := pu.User; u != nil {
		pass, _ := u.Password()
		req += "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pass)) + "\r\n"
	}
	req += "\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	// Nothing follows the proxy's response until we send our handshake, so a
	// buffered reader cannot swallow tunnel bytes.
	br := bufio.NewReaderSize(conn, 1024)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("proxy refused CONNECT: HTTP %d", resp.StatusCode)
	}
	if br.Buffered() > 0 {
		return nil, fmt.Errorf("proxy: unexpected data after CONNECT response")
	}
	ok = true
	return conn, nil
}
