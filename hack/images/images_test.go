package main

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// dockerfileStage is what the Dockerfile's final image is made of.
type dockerfileStage struct {
	base, copySrc, copyDst, user string
	entrypoint                   []string
	buildLine                    string
}

func readDockerfile(t *testing.T) dockerfileStage {
	t.Helper()
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	// Join continuation lines so that each instruction is one line.
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	var s dockerfileStage
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "FROM":
			s.base = f[len(f)-1]
			if len(f) >= 3 && f[len(f)-2] == "AS" {
				s.base = f[len(f)-3]
			}
		case "COPY":
			s.copySrc, s.copyDst = f[len(f)-2], f[len(f)-1]
		case "USER":
			s.user = f[1]
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(strings.TrimSpace(strings.TrimPrefix(line, "ENTRYPOINT"))), &s.entrypoint); err != nil {
				t.Fatalf("ENTRYPOINT is not in exec form: %v", err)
			}
		case "RUN":
			if strings.Contains(line, "go build") {
				s.buildLine = line
			}
		}
	}
	return s
}

// TestDockerfileDescribesTheSameImage checks that the Dockerfile's final image and the images this
// command assembles have the same base, binary path, user and entrypoint, and that the binary is
// built the same way.
func TestDockerfileDescribesTheSameImage(t *testing.T) {
	d := readDockerfile(t)
	if d.base != "gcr.io/distroless/static:nonroot" {
		t.Errorf("Dockerfile's final base is %q; baseFiles copy gcr.io/distroless/static:nonroot", d.base)
	}
	if d.copyDst != appPath {
		t.Errorf("Dockerfile copies the binary to %q, images to %q", d.copyDst, appPath)
	}
	if d.user != nonrootUser {
		t.Errorf("Dockerfile runs as %q, images as %q", d.user, nonrootUser)
	}
	if !slices.Equal(d.entrypoint, []string{appPath}) {
		t.Errorf("Dockerfile's entrypoint is %q, images' [%s]", d.entrypoint, appPath)
	}
	for _, want := range append(slices.Clone(buildEnv), "go build "+buildFlags[0], buildFlags[1]+` "`+buildFlags[2]+`"`) {
		if !strings.Contains(d.buildLine, want) {
			t.Errorf("Dockerfile's build %q lacks %q, which images uses", d.buildLine, want)
		}
	}
}

// TestBuildImagesScriptBuildsTheSameImages checks that hack/build-images.sh (Docker) and this command
// make the same images from the same packages.
func TestBuildImagesScriptBuildsTheSameImages(t *testing.T) {
	b, err := os.ReadFile("../build-images.sh")
	if err != nil {
		t.Fatal(err)
	}
	var script []recoflowImage
	for _, m := range regexp.MustCompile(`(?m)^\s*"(recoflow-[a-z]+)=(\./[a-z/]+)"$`).FindAllStringSubmatch(string(b), -1) {
		script = append(script, recoflowImage{Name: m[1], Package: m[2]})
	}
	if !slices.Equal(script, recoflowImages) {
		t.Errorf("hack/build-images.sh builds %v, images builds %v", script, recoflowImages)
	}
}

// TestImageRunsTheBinaryAsNonroot writes an image and reads it back as a container runtime would.
func TestImageRunsTheBinaryAsNonroot(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "app")
	if err := os.WriteFile(bin, []byte("\x7fELF not really"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "image.tar")
	img := recoflowImages[1].image("localhost:5001", []string{"0.1.0", "0.1.0-next"}, bin)
	if err := img.Write(out); err != nil {
		t.Fatal(err)
	}

	for _, ref := range []string{"localhost:5001/recoflow-ingest:0.1.0-next", "localhost:5001/recoflow-ingest:0.1.0"} {
		tag, err := name.NewTag(ref)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tarball.ImageFromPath(out, &tag); err != nil {
			t.Fatalf("the tarball has no image %s: %v", tag, err)
		}
	}
	tag, _ := name.NewTag("localhost:5001/recoflow-ingest:0.1.0")
	read, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatal(err)
	}
	config, err := read.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := config.Config.Entrypoint; !slices.Equal(got, []string{"/app"}) {
		t.Errorf("entrypoint %q, want [/app]", got)
	}
	if got := config.Config.User; got != "65532:65532" {
		t.Errorf("user %q, want 65532:65532", got)
	}
	if config.OS != "linux" || config.Architecture != "amd64" {
		t.Errorf("platform %s/%s, want linux/amd64", config.OS, config.Architecture)
	}

	files := map[string]*tar.Header{}
	contents := map[string]string{}
	layers, err := read.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			hdr, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			files["/"+strings.TrimSuffix(hdr.Name, "/")] = hdr
			b, _ := io.ReadAll(tr)
			contents["/"+hdr.Name] = string(b)
		}
		rc.Close()
	}
	if hdr := files["/app"]; hdr == nil || hdr.Mode&0o111 == 0 || contents["/app"] != "\x7fELF not really" {
		t.Errorf("/app is missing, not executable or not the binary: %+v", hdr)
	}
	if !strings.Contains(contents[caCertificates], "BEGIN CERTIFICATE") {
		t.Errorf("%s holds no certificates", caCertificates)
	}
	if !strings.Contains(contents["/etc/passwd"], "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd has no nonroot user 65532: %q", contents["/etc/passwd"])
	}
	if hdr := files["/tmp"]; hdr == nil || hdr.Mode != 0o1777 {
		t.Errorf("/tmp is missing or not world-writable and sticky: %+v", hdr)
	}
}

// TestWriteRewritesOnlyWhatChanged writes an image, then the same image again, then images that
// differ in one input each: only those are written again.
func TestWriteRewritesOnlyWhatChanged(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "app")
	other := filepath.Join(dir, "other")
	for file, content := range map[string]string{bin: "binary 1", other: "binary 2"} {
		if err := os.WriteFile(file, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	base := Image{Refs: []string{"localhost/a:1"}, Entrypoint: []string{"/app"}, User: nonrootUser, Files: map[string]string{"/app": bin}}
	tests := []struct {
		name    string
		change  func(img *Image)
		rewrite bool
	}{
		{"the same image", func(*Image) {}, false},
		{"another name", func(img *Image) { img.Refs = []string{"localhost/a:2"} }, true},
		{"another entrypoint", func(img *Image) { img.Entrypoint = []string{"/app", "-v"} }, true},
		{"another user", func(img *Image) { img.User = "0:0" }, true},
		{"another binary", func(img *Image) { img.Files = map[string]string{"/app": other} }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".tar")
			if err := base.Write(out); err != nil {
				t.Fatal(err)
			}
			// A marker in place of the tarball shows whether the second Write wrote it again.
			if err := os.WriteFile(out, []byte("marker"), 0o644); err != nil {
				t.Fatal(err)
			}
			img := base
			tt.change(&img)
			if err := img.Write(out); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if rewritten := string(b) != "marker"; rewritten != tt.rewrite {
				t.Errorf("written again: %v, want %v", rewritten, tt.rewrite)
			}
		})
	}
}
