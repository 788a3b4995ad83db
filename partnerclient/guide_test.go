package partnerclient

import "os"

func readGuide() (string, error) {
	b, err := os.ReadFile("../docs/partner-signing.md")
	return string(b), err
}
