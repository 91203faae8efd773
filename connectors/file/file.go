// Package file is a feed.Store over a local folder.
package file

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/fundflow/fundflow/connectors/feed"
)

// Dir is a local folder that files arrive in.
type Dir struct {
	Path       string // the folder
	ArchiveDir string // where Archive moves files; default Path/archive
	RejectDir  string // where SetAside moves rejected and failed files; default Path/rejected
}

// List returns the regular files in the folder.
func (d Dir) List(ctx context.Context) ([]feed.FileInfo, error) {
	entries, err := os.ReadDir(d.Path)
	if err != nil {
		return nil, err
	}
	var out []feed.FileInfo
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed since ReadDir
		}
		out = append(out, feed.FileInfo{Name: e.Name(), Size: info.Size(), ModTime: info.ModTime()})
	}
	return out, nil
}

// Open opens a file of the folder.
func (d Dir) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	return os.Open(filepath.Join(d.Path, filepath.Base(name)))
}

// Archive moves a file into the archive folder.
func (d Dir) Archive(ctx context.Context, name string) error {
	dst := d.ArchiveDir
	if dst == "" {
		dst = filepath.Join(d.Path, "archive")
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	return os.Rename(filepath.Join(d.Path, filepath.Base(name)), filepath.Join(dst, filepath.Base(name)))
}

// SetAside moves a rejected or failed file into the rejected folder
// (feed.Asider), out of the inbox.
func (d Dir) SetAside(ctx context.Context, name string) error {
	dst := d.RejectDir
	if dst == "" {
		dst = filepath.Join(d.Path, "rejected")
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	return os.Rename(filepath.Join(d.Path, filepath.Base(name)), filepath.Join(dst, filepath.Base(name)))
}

// Describe names the folder.
func (d Dir) Describe() string { return fmt.Sprintf("file://%s", d.Path) }
