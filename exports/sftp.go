package exports

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/pkg/sftp"
)

// Upload copies files (in order: data first, manifest last) into remoteDir
// on an SFTP server, each to a temporary name that is renamed when its size
// checks out, so the receiving side never picks up a partial file and sees
// the manifest only when the data is complete.
func Upload(ctx context.Context, c *sftp.Client, remoteDir string, paths []string) error {
	if err := c.MkdirAll(remoteDir); err != nil {
		return fmt.Errorf("sftp: mkdir %s: %w", remoteDir, err)
	}
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := uploadOne(c, remoteDir, p); err != nil {
			return err
		}
	}
	return nil
}

func uploadOne(c *sftp.Client, remoteDir, local string) error {
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	name := filepath.Base(local)
	final := path.Join(remoteDir, name)
	tmp := path.Join(remoteDir, "."+name+".part")
	rf, err := c.Create(tmp)
	if err != nil {
		return fmt.Errorf("sftp: create %s: %w", tmp, err)
	}
	n, err := io.Copy(rf, f)
	if cerr := rf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		c.Remove(tmp)
		return fmt.Errorf("sftp: upload %s: %w", name, err)
	}
	rst, err := c.Stat(tmp)
	if err != nil || rst.Size() != st.Size() || n != st.Size() {
		c.Remove(tmp)
		return fmt.Errorf("sftp: %s: %d of %d bytes arrived (%v)", name, n, st.Size(), err)
	}
	c.Remove(final) // a re-run replaces the file of the same period
	if err := c.Rename(tmp, final); err != nil {
		return fmt.Errorf("sftp: rename %s: %w", name, err)
	}
	return nil
}
