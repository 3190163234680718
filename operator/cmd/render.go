package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// render prints the objects the operator would create for the pipelines in a YAML file, with no
// cluster: the same builders the controller uses, given the pipelines with their CRD defaults.
// The controller adds an owner reference to each; render leaves it out, since a pipeline that is
// not in a cluster has no UID to refer to.
func render(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", `file of one or more RecommendationPipelines, "-" for standard input (required)`)
	scaling := fs.String("scaling", "auto", "autoscaler to render: keda, hpa, none, or auto for what spec.scaling.mode says, with Auto meaning KEDA")
	namespace := fs.String("namespace", "", `namespace of pipelines that name none (default "default")`)
	var defaults functionDefaults
	defaults.bind(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: recoflow-operator render -f pipeline.yaml [flags]\n\n"+
			"Prints, as YAML, the objects the operator creates for each pipeline in the file.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *file == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("render: -f names the pipeline file")
	}
	var override manifests.Autoscaler
	if !strings.EqualFold(*scaling, "auto") {
		a, err := manifests.ParseAutoscaler(*scaling)
		if err != nil {
			return fmt.Errorf("render: --scaling: %w", err)
		}
		override = a
	}

	in := stdin
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			return fmt.Errorf("render: %w", err)
		}
		defer f.Close()
		in = f
	}
	pipelines, err := readPipelines(in, *namespace)
	if err != nil {
		return fmt.Errorf("render %s: %w", *file, err)
	}

	var objs []client.Object
	for _, p := range pipelines {
		autoscaler := override
		if autoscaler == "" {
			autoscaler, _ = manifests.ResolveAutoscaler(p.Spec.Scaling.Mode, true)
		}
		desired, err := manifests.Desired(defaults.params(p, autoscaler))
		if err != nil {
			return fmt.Errorf("render %s/%s: %w", p.Namespace, p.Name, err)
		}
		objs = append(objs, desired...)
	}
	w := bufio.NewWriter(stdout)
	if err := manifests.WriteYAML(w, objs); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	return w.Flush()
}

// readPipelines decodes every RecommendationPipeline document of r, strictly, and applies the
// defaults the API server would. A pipeline without a namespace gets namespace, or "default".
func readPipelines(r io.Reader, namespace string) ([]*v1alpha1.RecommendationPipeline, error) {
	docs := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var out []*v1alpha1.RecommendationPipeline
	for i := 1; ; i++ {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var p v1alpha1.RecommendationPipeline
		if err := yaml.UnmarshalStrict(doc, &p); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if p.APIVersion == "" && p.Kind == "" && p.Name == "" {
			continue // only comments
		}
		if gv := v1alpha1.GroupVersion.String(); p.APIVersion != gv || p.Kind != "RecommendationPipeline" {
			return nil, fmt.Errorf("document %d is a %s %s, not a %s RecommendationPipeline", i, p.APIVersion, p.Kind, gv)
		}
		if p.Name == "" {
			return nil, fmt.Errorf("document %d: metadata.name is required", i)
		}
		if p.Namespace == "" {
			p.Namespace = namespace
		}
		if p.Namespace == "" {
			p.Namespace = "default"
		}
		p.Default()
		out = append(out, &p)
	}
	if len(out) == 0 {
		return nil, errors.New("no RecommendationPipeline in it")
	}
	return out, nil
}
