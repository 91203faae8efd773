package main

import (
	"fmt"
	"path/filepath"

	"github.com/fundflow/fundflow/fraud"
	"github.com/fundflow/fundflow/internal/config"
)

// fraudCmd is `fundflow fraud ...`.
type fraudCmd struct {
	Rules fraudRulesCmd `cmd:"" help:"check a fraud rule file and print its rules; writes nothing"`
}

type fraudRulesCmd struct {
	File string `arg:"" optional:"" help:"The rule file (default: the config's fraud.rules_file, else the shipped fraud/rules.yaml)."`
}

func (c fraudRulesCmd) Run(a *app) error {
	rs, name, err := c.load(a)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%s: version %d, %d rules\n", name, rs.Version, len(rs.Rules))
	for _, r := range rs.Rules {
		fmt.Fprintf(a.stdout, "  %-22s %-20s scope=%-8s window=%-8s action=%s\n", r.ID, r.Kind, r.Scope, r.Window, r.Action)
	}
	return nil
}

func (c fraudRulesCmd) load(a *app) (*fraud.RuleSet, string, error) {
	if c.File != "" {
		rs, err := loadFraudRules(c.File)
		return rs, c.File, err
	}
	cfg, err := config.Load(a.g.Config)
	if err != nil {
		return nil, "", &exitError{code: 2, err: err}
	}
	path := fraudRulesPath(a.g.Config, cfg)
	if path == "" {
		return fraud.Shipped(), "fraud/rules.yaml (shipped)", nil
	}
	rs, err := loadFraudRules(path)
	return rs, path, err
}

// fraudRulesPath is the config's rule file ("" for the shipped rules), a
// relative path taken from the config file's directory.
func fraudRulesPath(cfgPath string, cfg *config.Config) string {
	if cfg.Fraud == nil || cfg.Fraud.RulesFile == "" {
		return ""
	}
	if filepath.IsAbs(cfg.Fraud.RulesFile) {
		return cfg.Fraud.RulesFile
	}
	return filepath.Join(filepath.Dir(cfgPath), cfg.Fraud.RulesFile)
}

// loadFraudRules reads a rule file; a bad one is an exit-2 error listing
// every problem with its field and line, as lint does for the config.
func loadFraudRules(path string) (*fraud.RuleSet, error) {
	rs, err := fraud.LoadRules(path)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	return rs, nil
}

// lintFraudRules: lint checks the config's rule file with the config.
func lintFraudRules(cfgPath string, cfg *config.Config) error {
	if p := fraudRulesPath(cfgPath, cfg); p != "" {
		_, err := loadFraudRules(p)
		return err
	}
	return nil
}
