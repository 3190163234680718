package main

// recoflowImage is one of the four images recoflow ships, built from one Go package.
type recoflowImage struct {
	// Name is the image's name under the registry, e.g. recoflow-ingest.
	Name string
	// Package is the Go package of the image's binary.
	Package string
}

// recoflowImages are the images the Dockerfile builds, in hack/build-images.sh's order.
var recoflowImages = []recoflowImage{
	{Name: "recoflow-operator", Package: "./operator/cmd"},
	{Name: "recoflow-ingest", Package: "./functions/ingest/cmd"},
	{Name: "recoflow-clean", Package: "./functions/clean/cmd"},
	{Name: "recoflow-popularity", Package: "./functions/popularity/cmd"},
}

// What the Dockerfile's final stage does: the binary at appPath, run as the nonroot user.
const appPath = "/app"

// The Dockerfile's build command: a static, reproducible, stripped binary.
var (
	buildEnv   = []string{"CGO_ENABLED=0"}
	buildFlags = []string{"-trimpath", "-ldflags", "-s -w"}
)

// image is ri's image named <registry>/<name>:<tag> for each of tags, with bin as its binary.
func (ri recoflowImage) image(registry string, tags []string, bin string) Image {
	refs := make([]string, len(tags))
	for i, tag := range tags {
		refs[i] = registry + "/" + ri.Name + ":" + tag
	}
	return Image{
		Refs:       refs,
		Entrypoint: []string{appPath},
		User:       nonrootUser,
		Files:      map[string]string{appPath: bin},
	}
}
