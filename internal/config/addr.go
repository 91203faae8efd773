package config

import (
	"fmt"
	"net"
	"strconv"
)

// checkAddr refuses a listen address that net.Listen would refuse only at
// `fundflow serve`: it must be host:port with a numeric port up to 65535.
// An empty host listens on every interface (":8080"); port 0 takes any free
// port, which tests rely on.
func checkAddr(a string) error {
	_, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. 127.0.0.1:8080, or :8080 for every interface)", a)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: the port must be a number from 1 to 65535", a)
	}
	return nil
}
