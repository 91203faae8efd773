package exports

import (
	"context"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/fundflow/fundflow/connectors/sftp"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/progress"
)

// Request is one export run (`fundflow export`).
type Request struct {
	Kind, Format string
	From, To     fund.Date
	Dir          string    // where the file and its manifest are written
	Progress     io.Writer // progress: a bar on a terminal, else a line every 5 s (internal/progress)
	ToSFTP       string    // non-empty: also upload both to this folder of the SFTP server in $FUNDFLOW_SFTP_*
	Log          *slog.Logger
}

// Run writes the export and its manifest into r.Dir, with progress, and
// delivers them over SFTP when asked (the manifest last).
func (e *Exporter) Run(ctx context.Context, r Request) (Manifest, error) {
	total, err := e.Count(ctx, r.Kind, r.From, r.To)
	if err != nil {
		return Manifest{}, err
	}
	bar := progress.NewCounter(r.Progress, "export "+r.Kind, "rows", total, 5*time.Second)
	m, paths, err := e.WriteFiles(ctx, r.Kind, r.Format, r.From, r.To, r.Dir, bar.Update)
	if err != nil {
		return m, err
	}
	bar.Done(m.Files[0].Rows)
	if r.ToSFTP == "" {
		return m, nil
	}
	// The compliance drop is reached with the same settings as the RTA server.
	cl, err := sftp.Dial(ctx, sftp.Config{Addr: os.Getenv("FUNDFLOW_SFTP_ADDR"), User: os.Getenv("FUNDFLOW_SFTP_USER"),
		KeyFile: os.Getenv("FUNDFLOW_SFTP_KEY"), HostKeyFile: os.Getenv("FUNDFLOW_SFTP_HOST_KEY")})
	if err != nil {
		return m, err
	}
	defer cl.Close()
	if err := Upload(ctx, cl.SFTP, r.ToSFTP, paths); err != nil {
		return m, err
	}
	r.Log.Info("export delivered over SFTP", "dir", r.ToSFTP, "files", len(paths))
	return m, nil
}
