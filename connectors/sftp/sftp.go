// Package sftp is a feed.Store over an SFTP server (pkg/sftp on
// x/crypto/ssh), with key authentication and a pinned host key.
package sftp

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/fundflow/fundflow/connectors/feed"
)

// Config says how to reach the server.
type Config struct {
	Addr        string // host:port
	User        string
	KeyFile     string // private key (OpenSSH format, no passphrase)
	HostKeyFile string // the server's public key (authorized_keys format), pinned
}

// Client is a logged-in SFTP session.
type Client struct {
	ssh  *ssh.Client
	SFTP *sftp.Client
	addr string
}

// Dial logs in. The host key must match the pinned one.
func Dial(ctx context.Context, c Config) (*Client, error) {
	key, err := os.ReadFile(c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("sftp: private key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("sftp: private key %s: %w", c.KeyFile, err)
	}
	hk, err := os.ReadFile(c.HostKeyFile)
	if err != nil {
		return nil, fmt.Errorf("sftp: host key: %w", err)
	}
	host, _, _, _, err := ssh.ParseAuthorizedKey(hk)
	if err != nil {
		return nil, fmt.Errorf("sftp: host key %s: %w", c.HostKeyFile, err)
	}
	cfg := &ssh.ClientConfig{
		User:            c.User,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(host),
		Timeout:         10 * time.Second,
	}
	sc, err := ssh.Dial("tcp", c.Addr, cfg)
	if err != nil {
		return nil, fmt.Errorf("sftp: connect %s@%s: %w", c.User, c.Addr, err)
	}
	cl, err := sftp.NewClient(sc, sftp.UseConcurrentReads(true))
	if err != nil {
		sc.Close()
		return nil, fmt.Errorf("sftp: start subsystem on %s: %w", c.Addr, err)
	}
	return &Client{ssh: sc, SFTP: cl, addr: c.Addr}, nil
}

// Close ends the session.
func (c *Client) Close() error {
	c.SFTP.Close()
	return c.ssh.Close()
}

// Dir is a remote folder that files arrive in.
type Dir struct {
	Client     *Client
	Path       string
	ArchiveDir string // default Path/archive
	RejectDir  string // where SetAside moves rejected and failed files; default Path/rejected
}

// Close ends the folder's session (its Client): the feed source that reads
// the folder closes it when its run ends.
func (d Dir) Close() error { return d.Client.Close() }

// List returns the regular files in the folder.
func (d Dir) List(ctx context.Context) ([]feed.FileInfo, error) {
	infos, err := d.Client.SFTP.ReadDir(d.Path)
	if err != nil {
		return nil, err
	}
	var out []feed.FileInfo
	for _, fi := range infos {
		if fi.Mode().IsRegular() {
			out = append(out, feed.FileInfo{Name: fi.Name(), Size: fi.Size(), ModTime: fi.ModTime()})
		}
	}
	return out, nil
}

// Open opens a remote file for reading.
func (d Dir) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	return d.Client.SFTP.Open(path.Join(d.Path, path.Base(name)))
}

// Archive moves a remote file into the archive folder.
func (d Dir) Archive(ctx context.Context, name string) error {
	dst := d.ArchiveDir
	if dst == "" {
		dst = path.Join(d.Path, "archive")
	}
	if err := d.Client.SFTP.MkdirAll(dst); err != nil {
		return err
	}
	return d.Client.SFTP.PosixRename(path.Join(d.Path, path.Base(name)), path.Join(dst, path.Base(name)))
}

// SetAside moves a rejected or failed remote file into the rejected folder
// (feed.Asider), out of the inbox.
func (d Dir) SetAside(ctx context.Context, name string) error {
	dst := d.RejectDir
	if dst == "" {
		dst = path.Join(d.Path, "rejected")
	}
	if err := d.Client.SFTP.MkdirAll(dst); err != nil {
		return err
	}
	return d.Client.SFTP.PosixRename(path.Join(d.Path, path.Base(name)), path.Join(dst, path.Base(name)))
}

// Describe names the folder.
func (d Dir) Describe() string { return fmt.Sprintf("sftp://%s%s", d.Client.addr, d.Path) }
