package app

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/internal/config"
)

// minLinkSecretLength is the shortest link secret accepted, in bytes. A
// short secret lets anyone who guesses it sign links to every task.
const minLinkSecretLength = 16

// linkSecretFile is the file in the data dir where ordo dev keeps the
// link secret it generated.
const linkSecretFile = "link-secret"

// linkSecret returns the secret that signs task-page links: api.link_secret
// (or ORDO_LINK_SECRET), else the file api.link_secret_file. Under ordo dev
// without either it generates one and keeps it in the data dir, so links
// sent before a restart still open. Elsewhere it returns nil and logs that
// notifications link to the API.
func linkSecret(cfg *config.Config, dataDir string, dev bool, logger logrus.FieldLogger) ([]byte, error) {
	secret, err := config.Credential{Value: cfg.API.LinkSecret, File: cfg.API.LinkSecretFile}.Resolve()
	if err != nil {
		return nil, fmt.Errorf("api.link_secret_file: %w", err)
	}
	if secret = strings.TrimSpace(secret); secret != "" {
		if len(secret) < minLinkSecretLength {
			return nil, fmt.Errorf("api.link_secret is %d bytes long: use at least %d, e.g. the output of openssl rand -hex 32", len(secret), minLinkSecretLength)
		}
		return []byte(secret), nil
	}
	if !dev {
		logger.Warn("api.link_secret is not set: notifications link to the API's JSON view of each task, which needs the API token; set api.link_secret_file or ORDO_LINK_SECRET for signed task pages")
		return nil, nil
	}

	file := filepath.Join(dataDir, linkSecretFile)
	data, err := os.ReadFile(file)
	if err == nil && strings.TrimSpace(string(data)) != "" {
		return []byte(strings.TrimSpace(string(data))), nil
	}
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("read link secret %s: %w", file, err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("generate link secret: %w", err)
	}
	secret = hex.EncodeToString(raw)
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write link secret %s: %w", file, err)
	}
	return []byte(secret), nil
}
