package bindings

import (
	"fmt"
	"sync"
)

// Binder adds methods, virtuals and properties to a Class whose instances'
// Go values (what Class.New returns) are T, so that each callback gets a T
// instead of `any`. When Lock is set, every method, virtual and property
// accessor it registers runs holding the instance's lock (Unlocked methods
// excepted).
//
// Methods are called on the thread that calls them in GDScript; virtuals on
// the thread the engine calls them from. Both receive their arguments in
// ptrcall convention (Call): a virtual with pointer arguments, such as
// PacketPeerExtension._get_packet(r_buffer: const uint8_t **, r_size: int32_t *),
// reads them with Call.Pointer and writes through them.
//
// A Binder works for any parent class; property values that hold engine
// objects (Object properties) keep a reference the class must drop in its
// Free (Unref).
type Binder[T any] struct {
	Class *Class
	Lock  func(self T) sync.Locker // nil: calls are not locked
}

// Bind returns a Binder for c; lock may be nil.
func Bind[T any](c *Class, lock func(self T) sync.Locker) *Binder[T] {
	return &Binder[T]{Class: c, Lock: lock}
}

func (b *Binder[T]) wrap(f func(self T, c Call), locked bool) func(any, Call) {
	return func(self any, c Call) {
		t := self.(T)
		if locked && b.Lock != nil {
			l := b.Lock(t)
			l.Lock()
			defer l.Unlock()
		}
		f(t, c)
	}
}

// Method registers a method without a return value.
func (b *Binder[T]) Method(name string, args []Arg, f func(self T, c Call)) {
	b.Class.Methods = append(b.Class.Methods, Method{Name: name, Args: args, Call: b.wrap(f, true)})
}

// Func registers a method returning a value of type ret (TypeNil: a
// Variant). retClass is the class of an Object result, or "Class.Enum" for
// an enum-typed int.
func (b *Binder[T]) Func(name string, args []Arg, ret VariantType, retClass string, f func(self T, c Call)) {
	b.Class.Methods = append(b.Class.Methods, Method{Name: name, Args: args, Return: ret, ReturnClass: retClass,
		HasReturn: true, Call: b.wrap(f, true)})
}

// Unlocked registers a method without a return value that runs without the
// lock: one that takes it itself, e.g. to emit signals with the lock released
// so that handlers may call back into the object.
func (b *Binder[T]) Unlocked(name string, args []Arg, f func(self T, c Call)) {
	b.Class.Methods = append(b.Class.Methods, Method{Name: name, Args: args, Call: b.wrap(f, false)})
}

// Virtual implements an engine virtual of the parent class, e.g.
// "_get_packet" of PacketPeerExtension or "_poll" of MultiplayerPeerExtension.
func (b *Binder[T]) Virtual(name string, f func(self T, c Call)) {
	b.Class.Virtuals = append(b.Class.Virtuals, Virtual{Name: name, Call: b.wrap(f, true)})
}

// addProp registers property name with its set_name / get_name methods. A
// value that check rejects is reported as an engine error and not stored.
func addProp[T, V any](b *Binder[T], name string, t VariantType, class string, field func(T) *V,
	arg func(Call) V, ret func(Call, V), check func(V) error, store func(dst *V, v V)) {
	setter, getter := "set_"+name, "get_"+name
	b.Class.Methods = append(b.Class.Methods,
		Method{Name: setter, Args: []Arg{{Name: "value", Type: t, Class: class}}, Call: b.wrap(func(self T, c Call) {
			v := arg(c)
			if check != nil {
				if err := check(v); err != nil {
					PushError(fmt.Sprintf("%s: %v", setter, err))
					return
				}
			}
			if store != nil {
				store(field(self), v)
			} else {
				*field(self) = v
			}
		}, true)},
		Method{Name: getter, Return: t, ReturnClass: class, HasReturn: true, Const: true, Call: b.wrap(func(self T, c Call) {
			ret(c, *field(self))
		}, true)})
	b.Class.Properties = append(b.Class.Properties, Property{Name: name, Type: t, Class: class, Setter: setter, Getter: getter})
}

// Float registers a float property stored in *field; check (may be nil)
// validates a new value.
func (b *Binder[T]) Float(name string, field func(T) *float64, check func(float64) error) {
	addProp(b, name, TypeFloat, "", field, func(c Call) float64 { return c.Float(0) }, Call.ReturnFloat, check, nil)
}

// Int registers an int property stored in *field; check (may be nil)
// validates a new value.
func (b *Binder[T]) Int(name string, field func(T) *int64, check func(int64) error) {
	addProp(b, name, TypeInt, "", field, func(c Call) int64 { return c.Int(0) }, Call.ReturnInt, check, nil)
}

// Enum registers an int property typed as enum ("Class.Enum") stored in
// *field; check (may be nil) validates a new value.
func (b *Binder[T]) Enum(name, enum string, field func(T) *int64, check func(int64) error) {
	addProp(b, name, TypeInt, enum, field, func(c Call) int64 { return c.Int(0) }, Call.ReturnInt, check, nil)
}

// Bool registers a bool property stored in *field.
func (b *Binder[T]) Bool(name string, field func(T) *bool) {
	addProp(b, name, TypeBool, "", field, func(c Call) bool { return c.Bool(0) }, Call.ReturnBool, nil, nil)
}

// String registers a String property stored in *field.
func (b *Binder[T]) String(name string, field func(T) *string) {
	addProp(b, name, TypeString, "", field, func(c Call) string { return c.String(0) }, Call.ReturnString, nil, nil)
}

// Strings registers a PackedStringArray property stored in *field.
func (b *Binder[T]) Strings(name string, field func(T) *[]string) {
	addProp(b, name, TypePackedStringArray, "", field, func(c Call) []string { return c.Strings(0) }, Call.ReturnStrings, nil, nil)
}

// Object registers a property holding a RefCounted object of class (a
// Resource such as X509Certificate) in *field. The field keeps a reference:
// Unref it when the instance is freed.
func (b *Binder[T]) Object(name, class string, field func(T) *Object) {
	addProp(b, name, TypeObject, class, field, func(c Call) Object { return c.Object(0) }, Call.ReturnObject, nil,
		func(dst *Object, v Object) {
			Ref(v)
			Unref(*dst)
			*dst = v
		})
}
