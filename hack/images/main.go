// Command images assembles container images without Docker or a registry, as docker-archive
// tarballs that `ctr images import` (or `docker load`) reads. Each image is one layer on an empty base
// holding the files of gcr.io/distroless/static:nonroot that static Go binaries use, so the images
// match what the Dockerfile builds.
//
//	images recoflow -o DIR -registry REGISTRY -tag TAG[,TAG...]
//	    builds the four recoflow binaries (as the Dockerfile does) and writes DIR/recoflow-<name>.tar
//	images file -o OUT.tar -t REF -entrypoint /bin[,arg...] [-user UID:GID] /in/image=/host/file...
//	    writes any other image (the e2e cluster's KEDA, metrics-server, CoreDNS and stand-ins)
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: images recoflow|file [flags]")
	}
	switch args[0] {
	case "recoflow":
		return runRecoflow(args[1:])
	case "file":
		return runFile(args[1:])
	default:
		return fmt.Errorf("unknown command %q: want recoflow or file", args[0])
	}
}

func runRecoflow(args []string) error {
	fs := flag.NewFlagSet("recoflow", flag.ContinueOnError)
	out := fs.String("o", "", "directory the tarballs and binaries are written to")
	registry := fs.String("registry", "localhost:5001", "registry and path the image names are appended to")
	tags := fs.String("tag", "", "tag of the four images; several, comma-separated, give each image several names")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *tags == "" {
		return fmt.Errorf("recoflow: -o and -tag are required")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	// The four builds run at once: when nothing changed, each only loads its packages and finds its
	// binary up to date.
	errs := make([]error, len(recoflowImages))
	var wg sync.WaitGroup
	for i, ri := range recoflowImages {
		wg.Go(func() { errs[i] = goBuild(ri.Package, filepath.Join(*out, ri.Name)) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, ri := range recoflowImages {
		bin := filepath.Join(*out, ri.Name)
		img := ri.image(*registry, strings.Split(*tags, ","), bin)
		if err := img.Write(filepath.Join(*out, ri.Name+".tar")); err != nil {
			return err
		}
		fmt.Println(strings.Join(img.Refs, " "))
	}
	return nil
}

// goBuild builds pkg into out with the Dockerfile's build command.
func goBuild(pkg, out string) error {
	cmd := exec.Command("go", append(append([]string{"build"}, buildFlags...), "-o", out, pkg)...)
	cmd.Env = append(os.Environ(), buildEnv...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w", pkg, err)
	}
	return nil
}

func runFile(args []string) error {
	fs := flag.NewFlagSet("file", flag.ContinueOnError)
	out := fs.String("o", "", "tarball to write")
	ref := fs.String("t", "", "image name")
	entrypoint := fs.String("entrypoint", "", "comma-separated entrypoint")
	user := fs.String("user", nonrootUser, "UID:GID the image runs as")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *ref == "" || *entrypoint == "" {
		return fmt.Errorf("file: -o, -t and -entrypoint are required")
	}
	img := Image{Refs: []string{*ref}, Entrypoint: strings.Split(*entrypoint, ","), User: *user, Files: map[string]string{}}
	for _, a := range fs.Args() {
		dst, src, ok := strings.Cut(a, "=")
		if !ok || !strings.HasPrefix(dst, "/") {
			return fmt.Errorf("file argument %q: want /path/in/image=/host/file", a)
		}
		img.Files[dst] = src
	}
	return img.Write(*out)
}
