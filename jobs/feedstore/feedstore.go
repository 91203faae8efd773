// Package feedstore opens the folder (local or SFTP) or URL a feed job's
// config names as a connectors/feed Store: nav-ingest and folio-recon read
// their files through it.
package feedstore

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/fundflow/fundflow/connectors/feed"
	"github.com/fundflow/fundflow/connectors/file"
	httpsrc "github.com/fundflow/fundflow/connectors/http"
	"github.com/fundflow/fundflow/connectors/sftp"
	"github.com/fundflow/fundflow/internal/config"
)

// Open opens s. An http store remembers its last response and raises its
// alerts through state under the pipeline's name; an SFTP store dials the
// server of the environment variables s.SFTP names. The store belongs to
// the pipeline that reads it (feed.Source closes it).
func Open(ctx context.Context, pipeline string, s config.Source, state httpsrc.State, log *slog.Logger) (feed.Store, error) {
	switch s.Kind {
	case "http":
		u, err := httpsrc.New(pipeline, s.URL, state, httpsrc.Options{Timeout: s.HTTP.Timeout, MaxRedirects: s.HTTP.MaxRedirects, Log: log})
		if err != nil {
			return nil, err
		}
		return u, nil
	case "file":
		if _, err := os.Stat(s.Path); err != nil {
			return nil, fmt.Errorf("source folder: %w", err)
		}
		return file.Dir{Path: s.Path, ArchiveDir: s.ArchiveDir}, nil
	case "sftp":
		cl, err := sftp.Dial(ctx, sftp.Config{
			Addr: os.Getenv(s.SFTP.AddrEnv), User: os.Getenv(s.SFTP.UserEnv),
			KeyFile: os.Getenv(s.SFTP.KeyFileEnv), HostKeyFile: os.Getenv(s.SFTP.HostKeyFileEnv),
		})
		if err != nil {
			return nil, err
		}
		return sftp.Dir{Client: cl, Path: s.Path, ArchiveDir: s.ArchiveDir}, nil
	}
	return nil, fmt.Errorf("unknown source kind %q", s.Kind)
}
