package event

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

// Actions lists every action in a stable order, for metrics, counts and documentation.
var Actions = []Action{ActionLiked, ActionUnliked, ActionViewed, ActionFavorited, ActionRated, ActionShared}

// CloudEvent types of user interactions, one per action.
const (
	TypeLiked     = "dev.recoflow.item.liked.v1"
	TypeUnliked   = "dev.recoflow.item.unliked.v1"
	TypeViewed    = "dev.recoflow.item.viewed.v1"
	TypeFavorited = "dev.recoflow.item.favorited.v1"
	TypeRated     = "dev.recoflow.item.rated.v1"
	TypeShared    = "dev.recoflow.item.shared.v1"
)

// TypePopularity is the CloudEvent type of the per-item popularity records on the compacted topic.
const TypePopularity = "dev.recoflow.item.popularity.v1"

const typePrefix, typeSuffix = "dev.recoflow.item.", ".v1"

// Type returns the CloudEvent type of the action.
func (a Action) Type() string { return typePrefix + string(a) + typeSuffix }

// Valid reports whether a is one of Actions.
func (a Action) Valid() bool {
	for _, known := range Actions {
		if a == known {
			return true
		}
	}
	return false
}

// ActionOf returns the action of an interaction CloudEvent type, and false for any other type.
func ActionOf(eventType string) (Action, bool) {
	switch eventType {
	case TypeLiked:
		return ActionLiked, true
	case TypeUnliked:
		return ActionUnliked, true
	case TypeViewed:
		return ActionViewed, true
	case TypeFavorited:
		return ActionFavorited, true
	case TypeRated:
		return ActionRated, true
	case TypeShared:
		return ActionShared, true
	}
	return "", false
}
