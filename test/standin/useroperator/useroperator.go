// Package useroperator stands in for Strimzi's User Operator in the e2e cluster, where Strimzi
// (Java) cannot run. For every KafkaUser (kafka.strimzi.io/v1) of one Kafka cluster it does what
// the User Operator does for a user with simple authorization: it makes the user's credentials and
// ACLs on the broker, writes the user's Secret in Strimzi's format, and reports the user Ready with
// its username, Secret and observed generation. Deleting the KafkaUser removes the credentials and
// ACLs. Like Strimzi it reconciles every user periodically, so a restarted broker gets them back.
// Test-only: nothing here is shipped.
//
// A scram-sha-512 user gets SCRAM-SHA-512 credentials and ACLs for principal User:<name>, and a
// Secret with password and sasl.jaas.config. A tls user gets a certificate with common name
// <name>, signed by the clients CA (package broker), a Secret with user.crt, user.key and the
// clients CA's ca.crt, and ACLs for principal User:CN=<name>. The embedded broker cannot
// authenticate that user, though: kfake takes a connection's principal only from SASL
// (kfake's 36_sasl_authenticate.go sets clientConn.user; acl.go's principal(user) builds the ACL
// principal from it, User:ANONYMOUS without SASL) and never from the TLS peer certificate, and with
// SASL enabled it refuses every request of a connection that has not completed SASL (cluster.go,
// handleSASL). So the ACLs of tls users exist on the broker but nothing can exercise them here.
package useroperator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/IBM/sarama"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/test/standin/broker"
)

// KafkaUserGVK is the kind the stand-in reconciles.
var KafkaUserGVK = schema.GroupVersionKind{Group: "kafka.strimzi.io", Version: "v1", Kind: "KafkaUser"}

// Strimzi's labels and Secret keys.
const (
	clusterLabel = "strimzi.io/cluster"
	kindLabel    = "strimzi.io/kind"
	passwordKey  = config.SecretKeyPassword
	jaasKey      = "sasl.jaas.config"
	certKey      = config.SecretKeyUserCert
	keyKey       = config.SecretKeyUserKey
	caKey        = config.SecretKeyCACert
)

// errResourceNotFound is Kafka's RESOURCE_NOT_FOUND, which sarama does not name: deleting the
// credentials of a user that has none.
const errResourceNotFound sarama.KError = 91

// scramIterations is the SCRAM iteration count of the credentials, as Strimzi uses.
const scramIterations = 4096

// Admin runs requests on the broker as a superuser.
type Admin interface {
	// Do runs fn with a connected admin client.
	Do(fn func(sarama.ClusterAdmin) error) error
}

// Reconciler makes the KafkaUsers of one Kafka cluster real on its broker.
type Reconciler struct {
	// Client reads KafkaUsers and the clients CA, and writes the users' Secrets and status.
	Client client.Client
	// Admin is a superuser's admin client of the broker.
	Admin Admin
	// Cluster is the name of the Kafka cluster whose users (label strimzi.io/cluster) it handles.
	Cluster string
	// Resync is how often a Ready user is reconciled again, as Strimzi's periodic reconciliation
	// does; 0 never.
	Resync time.Duration
}

// SetupWithManager registers the reconciler with mgr, watching the KafkaUsers labelled with
// r.Cluster and the Secrets they own.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Client == nil {
		r.Client = mgr.GetClient()
	}
	user := &unstructured.Unstructured{}
	user.SetGroupVersionKind(KafkaUserGVK)
	ofCluster := predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetLabels()[clusterLabel] == r.Cluster })
	return ctrl.NewControllerManagedBy(mgr).
		Named("useroperator-standin").
		For(user, builder.WithPredicates(ofCluster)).
		Owns(&corev1.Secret{}).
		Complete(r)
}

// Reconcile makes one KafkaUser's credentials, ACLs, Secret and status match its spec, or removes
// the credentials and ACLs of a deleted one.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(KafkaUserGVK)
	err := r.Client.Get(ctx, req.NamespacedName, u)
	if apierrors.IsNotFound(err) {
		return ctrl.Result{}, r.removeUser(req.Name)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if u.GetLabels()[clusterLabel] != r.Cluster {
		return ctrl.Result{}, nil
	}
	username, secret, err := r.credentials(ctx, u)
	var unsupported unsupportedError
	switch {
	case errors.As(err, &unsupported):
		return ctrl.Result{}, r.setStatus(ctx, u, "", "UnsupportedAuthentication", err.Error())
	case err != nil:
		return ctrl.Result{}, r.failed(ctx, u, err)
	}
	want, err := ACLs(u)
	if err != nil {
		return ctrl.Result{}, r.setStatus(ctx, u, "", "InvalidResourceException", err.Error())
	}
	if err := r.syncACLs(username, want); err != nil {
		return ctrl.Result{}, r.failed(ctx, u, err)
	}
	if err := r.writeSecret(ctx, u, secret); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: r.Resync}, r.setStatus(ctx, u, username, "", "")
}

// unsupportedError is a KafkaUser's authentication type the stand-in does not make.
type unsupportedError string

func (e unsupportedError) Error() string {
	return fmt.Sprintf("the User Operator stand-in makes scram-sha-512 and tls users, not %q", string(e))
}

// credentials makes the user's credentials, as its spec.authentication.type says, and returns its
// name on the broker and its Secret's data: for scram-sha-512, the user's SCRAM credentials on the
// broker and the password; for tls, a certificate from the clients CA.
func (r *Reconciler) credentials(ctx context.Context, u *unstructured.Unstructured) (string, map[string][]byte, error) {
	switch typ, _, _ := unstructured.NestedString(u.Object, "spec", "authentication", "type"); typ {
	case "scram-sha-512":
		password, err := r.password(ctx, u)
		if err != nil {
			return "", nil, err
		}
		if err := r.upsertCredentials(u.GetName(), password); err != nil {
			return "", nil, err
		}
		return u.GetName(), map[string][]byte{
			passwordKey: []byte(password),
			jaasKey:     []byte(fmt.Sprintf(`org.apache.kafka.common.security.scram.ScramLoginModule required username="%s" password="%s";`, u.GetName(), password)),
		}, nil
	case "tls":
		secret, err := r.certificate(ctx, u)
		return "CN=" + u.GetName(), secret, err
	default:
		return "", nil, unsupportedError(typ)
	}
}

// principal is the ACL principal of a user: User:<name> for SCRAM, User:CN=<name> for TLS.
func principal(user string) string { return "User:" + user }

// certificate returns a tls user's Secret data: the certificate and key in its Secret already, or
// new ones for common name <name> signed by the clients CA, and the clients CA's certificate.
func (r *Reconciler) certificate(ctx context.Context, u *unstructured.Unstructured) (map[string][]byte, error) {
	var s corev1.Secret
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: u.GetNamespace(), Name: u.GetName()}, &s)
	switch {
	case err == nil && len(s.Data[certKey]) > 0 && len(s.Data[keyKey]) > 0 && len(s.Data[caKey]) > 0:
		return map[string][]byte{certKey: s.Data[certKey], keyKey: s.Data[keyKey], caKey: s.Data[caKey]}, nil
	case err != nil && !apierrors.IsNotFound(err):
		return nil, err
	}
	ca, err := broker.LoadCA(ctx, r.Client, u.GetNamespace(), r.Cluster, broker.ClientsCA)
	if err != nil {
		return nil, err
	}
	cert, key, err := ca.IssueClient(u.GetName())
	if err != nil {
		return nil, err
	}
	return map[string][]byte{certKey: cert, keyKey: key, caKey: ca.PEM}, nil
}

// password returns the user's password: the one in its Secret already, or a new one.
func (r *Reconciler) password(ctx context.Context, u *unstructured.Unstructured) (string, error) {
	var s corev1.Secret
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: u.GetNamespace(), Name: u.GetName()}, &s)
	switch {
	case err == nil && len(s.Data[passwordKey]) > 0:
		return string(s.Data[passwordKey]), nil
	case err != nil && !apierrors.IsNotFound(err):
		return "", err
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// upsertCredentials sets the user's SCRAM-SHA-512 credentials on the broker. It runs on every
// reconcile, so a broker that lost its state gets them back.
func (r *Reconciler) upsertCredentials(user, password string) error {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return err
	}
	var results []*sarama.AlterUserScramCredentialsResult
	err := r.Admin.Do(func(a sarama.ClusterAdmin) (err error) {
		results, err = a.UpsertUserScramCredentials([]sarama.AlterUserScramCredentialsUpsert{{
			Name: user, Mechanism: sarama.SCRAM_MECHANISM_SHA_512, Iterations: scramIterations, Salt: salt, Password: []byte(password),
		}})
		return err
	})
	if err != nil {
		return fmt.Errorf("SCRAM credentials of %s: %w", user, err)
	}
	for _, res := range results {
		if res.ErrorCode != sarama.ErrNoError {
			return fmt.Errorf("SCRAM credentials of %s: %w", user, res.ErrorCode)
		}
	}
	return nil
}

// ACL is one allowed operation on one resource, for one principal on any host.
type ACL struct {
	Resource  sarama.Resource
	Operation sarama.AclOperation
}

// ACLs returns the broker ACLs a KafkaUser's spec.authorization.acls allow.
func ACLs(u *unstructured.Unstructured) ([]ACL, error) {
	rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "authorization", "acls")
	var out []ACL
	for i, rule := range rules {
		rule, _ := rule.(map[string]any)
		if t, _ := rule["type"].(string); t != "" && t != "allow" {
			return nil, fmt.Errorf("acls[%d]: the stand-in makes allow rules only, not %q", i, t)
		}
		res, _ := rule["resource"].(map[string]any)
		var r sarama.Resource
		typ, _ := res["type"].(string)
		if err := r.ResourceType.UnmarshalText([]byte(strings.ToLower(typ))); err != nil {
			return nil, fmt.Errorf("acls[%d].resource.type %q: %w", i, typ, err)
		}
		r.ResourceName, _ = res["name"].(string)
		r.ResourcePatternType = sarama.AclPatternLiteral
		if p, _ := res["patternType"].(string); p == "prefix" {
			r.ResourcePatternType = sarama.AclPatternPrefixed
		}
		if r.ResourceType == sarama.AclResourceCluster {
			r.ResourceName = "kafka-cluster"
		}
		ops, _ := rule["operations"].([]any)
		for _, op := range ops {
			var o sarama.AclOperation
			name, _ := op.(string)
			if err := o.UnmarshalText([]byte(strings.ToLower(name))); err != nil {
				return nil, fmt.Errorf("acls[%d].operations %q: %w", i, name, err)
			}
			out = append(out, ACL{Resource: r, Operation: o})
		}
	}
	return out, nil
}

// syncACLs makes the broker's ACLs of user exactly want: it adds the missing ones and deletes the
// rest, so an unchanged user is never without its ACLs.
func (r *Reconciler) syncACLs(user string, want []ACL) error {
	p := principal(user)
	var have []sarama.ResourceAcls
	err := r.Admin.Do(func(a sarama.ClusterAdmin) (err error) {
		have, err = a.ListAcls(sarama.AclFilter{
			ResourceType: sarama.AclResourceAny, ResourcePatternTypeFilter: sarama.AclPatternAny, Principal: &p,
			Operation: sarama.AclOperationAny, PermissionType: sarama.AclPermissionAny,
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("list ACLs of %s: %w", user, err)
	}
	existing := map[ACL]bool{}
	for _, ra := range have {
		for _, a := range ra.Acls {
			existing[ACL{Resource: ra.Resource, Operation: a.Operation}] = true
		}
	}
	var create []*sarama.ResourceAcls
	wanted := map[ACL]bool{}
	for _, a := range want {
		wanted[a] = true
		if !existing[a] {
			create = append(create, &sarama.ResourceAcls{Resource: a.Resource, Acls: []*sarama.Acl{{
				Principal: p, Host: "*", Operation: a.Operation, PermissionType: sarama.AclPermissionAllow,
			}}})
		}
	}
	if len(create) > 0 {
		if err := r.Admin.Do(func(a sarama.ClusterAdmin) error { return a.CreateACLs(create) }); err != nil {
			return fmt.Errorf("create ACLs of %s: %w", user, err)
		}
	}
	var errs []error
	for a := range existing {
		if wanted[a] {
			continue
		}
		name := a.Resource.ResourceName
		filter := sarama.AclFilter{
			ResourceType: a.Resource.ResourceType, ResourceName: &name, ResourcePatternTypeFilter: a.Resource.ResourcePatternType,
			Principal: &p, Operation: a.Operation, PermissionType: sarama.AclPermissionAllow,
		}
		if err := r.Admin.Do(func(admin sarama.ClusterAdmin) error { _, err := admin.DeleteACL(filter, false); return err }); err != nil {
			errs = append(errs, fmt.Errorf("delete ACL of %s: %w", user, err))
		}
	}
	return errors.Join(errs...)
}

// removeUser deletes a deleted KafkaUser's ACLs (as a SCRAM or a TLS user) and credentials from
// the broker.
func (r *Reconciler) removeUser(user string) error {
	if err := errors.Join(r.syncACLs(user, nil), r.syncACLs("CN="+user, nil)); err != nil {
		return err
	}
	var results []*sarama.AlterUserScramCredentialsResult
	err := r.Admin.Do(func(a sarama.ClusterAdmin) (err error) {
		results, err = a.DeleteUserScramCredentials([]sarama.AlterUserScramCredentialsDelete{{Name: user, Mechanism: sarama.SCRAM_MECHANISM_SHA_512}})
		return err
	})
	if err != nil {
		return fmt.Errorf("delete SCRAM credentials of %s: %w", user, err)
	}
	for _, res := range results {
		if res.ErrorCode != sarama.ErrNoError && res.ErrorCode != errResourceNotFound {
			return fmt.Errorf("delete SCRAM credentials of %s: %w", user, res.ErrorCode)
		}
	}
	return nil
}

// writeSecret writes the user's Secret as Strimzi does, owned by the KafkaUser.
func (r *Reconciler) writeSecret(ctx context.Context, u *unstructured.Unstructured, data map[string][]byte) error {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: u.GetNamespace(), Name: u.GetName()}}
	_, err := controllerutil.CreateOrUpdate(ctx, r.Client, s, func() error {
		s.Labels = map[string]string{clusterLabel: r.Cluster, kindLabel: KafkaUserGVK.Kind, "app.kubernetes.io/instance": u.GetName()}
		s.Data = data
		return controllerutil.SetControllerReference(u, s, r.Client.Scheme())
	})
	if err != nil {
		return fmt.Errorf("secret of %s: %w", u.GetName(), err)
	}
	return nil
}

// failed reports a broker error in the user's status and returns it, so the user is retried.
func (r *Reconciler) failed(ctx context.Context, u *unstructured.Unstructured, err error) error {
	return errors.Join(err, r.setStatus(ctx, u, "", "KafkaError", err.Error()))
}

// setStatus writes Strimzi's status of the user: Ready as username (User:<username> on the
// broker), or, with no username, not Ready with reason and message.
func (r *Reconciler) setStatus(ctx context.Context, u *unstructured.Unstructured, username, reason, message string) error {
	ready := username != ""
	condition := map[string]any{"type": "Ready", "status": "True"}
	if !ready {
		condition = map[string]any{"type": "NotReady", "status": "True", "reason": reason, "message": message}
	}
	status := map[string]any{"observedGeneration": u.GetGeneration(), "conditions": []any{condition}}
	if ready {
		status["username"] = username
		status["secret"] = u.GetName()
	}
	if old, ok := u.Object["status"].(map[string]any); ok && sameStatus(old, status) {
		return nil
	}
	condition["lastTransitionTime"] = time.Now().UTC().Format(time.RFC3339)
	u.Object["status"] = status
	return r.Client.Status().Update(ctx, u)
}

// sameStatus reports whether old says what status says, leaving out transition times.
func sameStatus(old, status map[string]any) bool {
	oldConds, _ := old["conditions"].([]any)
	newConds, _ := status["conditions"].([]any)
	if len(oldConds) != len(newConds) || fmt.Sprint(old["observedGeneration"]) != fmt.Sprint(status["observedGeneration"]) ||
		old["username"] != status["username"] || old["secret"] != status["secret"] {
		return false
	}
	for i := range oldConds {
		o, _ := oldConds[i].(map[string]any)
		n, _ := newConds[i].(map[string]any)
		for _, k := range []string{"type", "status", "reason", "message"} {
			if o[k] != n[k] {
				return false
			}
		}
	}
	return true
}
