package contract

// Action is what a user did to an item. Each action has exactly one CloudEvent type.
type Action string

// The actions recoflow understands.
const (
	ActionLiked     Action = "liked"
	ActionUnliked   Action = "unliked"
	ActionViewed    Action = "viewed"
	ActionFavorited Action = "favorited"
	ActionRated     Action = "rated"
	ActionShared    Action = "shared"
)

// actions is the actions table: every action, in the stable order of metrics, counts, weights
// and documentation.
var actions = [...]Action{ActionLiked, ActionUnliked, ActionViewed, ActionFavorited, ActionRated, ActionShared}

// NumActions is the number of actions.
const NumActions = len(actions)

// Actions lists every action in the table's order.
var Actions = actions[:]

// CloudEvent types of user interactions, one per action: TypePrefix, the action, TypeSuffix.
const (
	TypeLiked     = TypePrefix + string(ActionLiked) + TypeSuffix
	TypeUnliked   = TypePrefix + string(ActionUnliked) + TypeSuffix
	TypeViewed    = TypePrefix + string(ActionViewed) + TypeSuffix
	TypeFavorited = TypePrefix + string(ActionFavorited) + TypeSuffix
	TypeRated     = TypePrefix + string(ActionRated) + TypeSuffix
	TypeShared    = TypePrefix + string(ActionShared) + TypeSuffix
)

// TypePopularity is the CloudEvent type of the per-item popularity records on the compacted topic.
const TypePopularity = TypePrefix + "popularity" + TypeSuffix

// TypePrefix and TypeSuffix enclose the action, or "popularity", in every recoflow CloudEvent type.
const TypePrefix, TypeSuffix = "dev.recoflow.item.", ".v1"

// Type returns the CloudEvent type of the action.
func (a Action) Type() string { return TypePrefix + string(a) + TypeSuffix }

// Index returns a's position in Actions, and false when a is not an action.
func (a Action) Index() (int, bool) {
	for i, known := range actions {
		if a == known {
			return i, true
		}
	}
	return 0, false
}

// Valid reports whether a is one of Actions.
func (a Action) Valid() bool {
	_, ok := a.Index()
	return ok
}

// types holds each action's CloudEvent type, at the action's index.
var types = func() (t [NumActions]string) {
	for i, a := range actions {
		t[i] = a.Type()
	}
	return t
}()

// ActionOf returns the action of an interaction CloudEvent type, and false for any other type.
func ActionOf(eventType string) (Action, bool) {
	for i, t := range types {
		if t == eventType {
			return actions[i], true
		}
	}
	return "", false
}
