package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Image is a container image made of one layer on an empty base: the files of the nonroot base
// plus the given files, run as User with Entrypoint.
type Image struct {
	// Refs name the image, e.g. localhost:5001/recoflow-ingest:0.1.0; the first is its name in
	// errors.
	Refs []string
	// Entrypoint is the command the image runs.
	Entrypoint []string
	// User is the UID:GID the image runs as.
	User string
	// Files maps a path in the image to the host file copied there (with mode 0755).
	Files map[string]string
}

// nonrootUser is the UID:GID of distroless's nonroot user, the user of every recoflow image.
const nonrootUser = "65532:65532"

// caCertificates is where Debian and distroless keep the CA bundle, on the host and in the image.
const caCertificates = "/etc/ssl/certs/ca-certificates.crt"

// baseFiles are the files of gcr.io/distroless/static:nonroot that a static Go binary can use: the
// users and groups (so that UID 65532 has a name and a home), the CA certificates, and a writable
// /tmp. The time zone database and os-release are left out: recoflow's binaries do not read them.
var baseFiles = map[string]string{
	"/etc/passwd": "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
	"/etc/group": "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n",
}

// baseDirs are the base's directories that must exist, with their modes.
var baseDirs = map[string]int64{"/tmp": 0o1777, "/home/nonroot": 0o700}

// Write writes the image as a docker-archive tarball (what `ctr images import` and `docker load` read),
// unless out already holds it: OUT.key records the content key of the image written there (Key), so
// an unchanged image is not compressed and written again.
func (img Image) Write(out string) error {
	key, err := img.Key()
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(out + ".key"); err == nil && string(old) == key {
		if _, err := os.Stat(out); err == nil {
			return nil
		}
	}
	if err := img.write(out); err != nil {
		return err
	}
	return os.WriteFile(out+".key", []byte(key), 0o644)
}

// Key is a hash of everything the image's tarball is made from: its names, entrypoint and user,
// the contents of its files and of the host's CA bundle, and this program itself (which decides
// how they are laid out).
func (img Image) Key() (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "refs %q\nentrypoint %q\nuser %q\n", img.Refs, img.Entrypoint, img.User)
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	hashFile := func(label, file string) error {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("%s of %s: %w", label, img.Refs[0], err)
		}
		defer f.Close()
		fmt.Fprintf(h, "%s\n", label)
		_, err = io.Copy(h, f)
		return err
	}
	if err := hashFile("program", self); err != nil {
		return "", err
	}
	if err := hashFile(caCertificates, caCertificates); err != nil {
		return "", err
	}
	for _, dst := range sortedKeys(img.Files) {
		if err := hashFile(dst, img.Files[dst]); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// write assembles the image and writes its tarball to out.
func (img Image) write(out string) error {
	layerBytes, err := img.layer()
	if err != nil {
		return err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	})
	if err != nil {
		return fmt.Errorf("layer of %s: %w", img.Refs[0], err)
	}
	image, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return fmt.Errorf("image %s: %w", img.Refs[0], err)
	}
	config, err := image.ConfigFile()
	if err != nil {
		return fmt.Errorf("config of %s: %w", img.Refs[0], err)
	}
	config = config.DeepCopy()
	config.OS, config.Architecture = "linux", "amd64"
	config.Config = v1.Config{
		User:       img.User,
		Entrypoint: img.Entrypoint,
		Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SSL_CERT_FILE=" + caCertificates},
	}
	image, err = mutate.ConfigFile(image, config)
	if err != nil {
		return fmt.Errorf("config of %s: %w", img.Refs[0], err)
	}
	refs := map[name.Reference]v1.Image{}
	for _, r := range img.Refs {
		tag, err := name.NewTag(r)
		if err != nil {
			return fmt.Errorf("image name %q: %w", r, err)
		}
		refs[tag] = image
	}
	if err := tarball.MultiRefWriteToFile(out, refs); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}

// layer returns the image's only layer: the base's files and directories, then img.Files.
func (img Image) layer() ([]byte, error) {
	contents := map[string][]byte{}
	modes := map[string]int64{}
	for dst, text := range baseFiles {
		contents[dst], modes[dst] = []byte(text), 0o644
	}
	ca, err := os.ReadFile(caCertificates)
	if err != nil {
		return nil, fmt.Errorf("CA certificates: %w", err)
	}
	contents[caCertificates], modes[caCertificates] = ca, 0o644
	for dst, src := range img.Files {
		b, err := os.ReadFile(src)
		if err != nil {
			return nil, fmt.Errorf("file %s of %s: %w", dst, img.Refs[0], err)
		}
		contents[dst], modes[dst] = b, 0o755
	}

	dirs := map[string]int64{}
	for d, mode := range baseDirs {
		dirs[d] = mode
	}
	for p := range contents {
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			if _, ok := dirs[d]; !ok {
				dirs[d] = 0o755
			}
		}
	}

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range sortedKeys(dirs) {
		uid := 0
		if d == "/home/nonroot" {
			uid = 65532
		}
		hdr := &tar.Header{Name: strings.TrimPrefix(d, "/") + "/", Typeflag: tar.TypeDir, Mode: dirs[d], Uid: uid, Gid: uid}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
	}
	for _, p := range sortedKeys(contents) {
		hdr := &tar.Header{Name: strings.TrimPrefix(p, "/"), Typeflag: tar.TypeReg, Mode: modes[p], Size: int64(len(contents[p]))}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(contents[p]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
