package config

import (
	"errors"
	"strings"
	"testing"
)

func TestAuditAnchorConfig(t *testing.T) {
	cases := []struct {
		name, yaml   string
		wantErr      string // "" = valid
		wantSchedule string
		wantMigrate  string
	}{
		{"no anchors", "services: {}\n", "", "", "FUNDFLOW_PG_MIGRATE_URL"},
		{"file gives an hourly schedule", "audit:\n  anchor_file: /var/lib/fundflow/anchors.jsonl\n", "", "0 * * * *", "FUNDFLOW_PG_MIGRATE_URL"},
		{"own schedule and owner variable", "services:\n  postgres_migrate_url_env: OWNER_URL\naudit:\n  anchor_file: /a.jsonl\n  anchor_schedule: \"*/5 * * * *\"\n", "", "*/5 * * * *", "OWNER_URL"},
		{"schedule without a file", "audit:\n  anchor_schedule: \"0 * * * *\"\n", "line 2: audit.anchor_schedule: set audit.anchor_file too", "", ""},
		{"relative file", "audit:\n  anchor_file: anchors.jsonl\n", "line 2: audit.anchor_file: must be an absolute path", "", ""},
		{"bad schedule", "audit:\n  anchor_file: /a\n  anchor_schedule: hourly\n", "line 3: audit.anchor_schedule: bad cron spec", "", ""},
		{"owner variable not a name", "services:\n  postgres_migrate_url_env: postgres://x\n", "services.postgres_migrate_url_env", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse("test.yaml", []byte(c.yaml))
			if c.wantErr != "" {
				var ce *Errors
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Audit.AnchorSchedule != c.wantSchedule || cfg.Audit.AnchorTopic != "audit.anchors" || cfg.Services.PostgresMigrateURLEnv != c.wantMigrate {
				t.Fatalf("got %+v %q", cfg.Audit, cfg.Services.PostgresMigrateURLEnv)
			}
		})
	}
}
