package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/portico-dev/portico/service"
)

// openStore opens the profile store that cfg selects: PostgreSQL if
// cfg.DatabaseURL is set, else the embedded SQLite database in cfg.DataDir,
// which it creates if missing. It logs which store it opened; the database
// URL is logged without its password.
func openStore(ctx context.Context, cfg Config, logger *slog.Logger) (service.Store, io.Closer, error) {
	if cfg.DatabaseURL != "" {
		store, err := service.OpenPostgres(ctx, cfg.DatabaseURL,
			service.WithStartTimeout(cfg.DatabaseStartTimeout), service.WithPostgresLogger(logger))
		if err != nil {
			return nil, nil, err
		}
		logger.InfoContext(ctx, "profile store opened", slog.String("store", "postgres"), slog.String("database", store.String()))
		return store, store, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("data directory: %w", err)
	}
	path := filepath.Join(cfg.DataDir, "profiles.db")
	store, err := service.OpenSQLite(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	logger.InfoContext(ctx, "profile store opened", slog.String("store", "sqlite"), slog.String("path", path))
	return store, store, nil
}
