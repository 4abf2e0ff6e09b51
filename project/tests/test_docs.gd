extends "res://tests/test_base.gd"
## The class reference in doc_classes/*.xml (the editor help the library
## embeds) against what the library registers in ClassDB: every registered
## method, property, signal and constant must be documented with the
## registered signature, and everything documented must exist.
##
## The XML is read from $GOWS_DOC_CLASSES, else res://addons/gowebsocket/doc_classes/,
## else doc_classes/ beside the project folder (the repository layout).

## Classes documented although the build may not register them yet: their
## check prints a SKIP line while the class is missing, and runs in full as
## soon as it is registered.
const PENDING := ["GoWebSocketMultiplayerPeer"]
## Registered only for the engine tests; never documented.
const UNDOCUMENTED := ["GoWebSocketPanicProbe"]
## The shortest description accepted (Godot's class.xsd asks for 10 characters).
const MIN_DESCRIPTION := 10


func test_doc_xml_matches_classdb() -> bool:
	var dir := doc_dir()
	if not check(dir != "", "doc_classes not found (set GOWS_DOC_CLASSES to its path)"):
		return true
	var documented := {}
	for file in DirAccess.get_files_at(dir):
		if file.get_extension() == "xml":
			documented[file.get_basename()] = true
	for cls in ClassDB.get_class_list():
		if cls.begins_with("GoWebSocket") and cls not in UNDOCUMENTED and not documented.has(cls):
			check(false, "%s is registered but has no doc_classes/%s.xml" % [cls, cls])
	for cls in documented:
		var doc := parse_doc(dir.path_join(cls + ".xml"))
		if doc.is_empty():
			continue
		if not ClassDB.class_exists(cls):
			if cls in PENDING:
				print("SKIP %s docs: the class is not registered in this build (its XML is checked once it is)" % cls)
			else:
				check(false, "%s.xml documents a class that is not registered" % cls)
			continue
		compare_class(cls, doc)
	return true


func test_doc_descriptions_are_written() -> bool:
	var dir := doc_dir()
	if not check(dir != "", "doc_classes not found (set GOWS_DOC_CLASSES to its path)"):
		return true
	var globals := {}
	for file in DirAccess.get_files_at(dir):
		if file.get_extension() != "xml":
			continue
		var cls := file.get_basename()
		var doc := parse_doc(dir.path_join(file))
		if doc.is_empty() or not ClassDB.class_exists(cls):
			continue  # reported by test_doc_xml_matches_classdb
		check(text_of(doc, "brief_description").length() >= MIN_DESCRIPTION, "%s: no brief description" % cls)
		var full := text_of(doc, "description")
		check(full.length() >= MIN_DESCRIPTION, "%s: no description" % cls)
		check(full.contains("[codeblock]"), "%s: the class description has no [codeblock] example" % cls)
		check_references(cls, "class description", doc_text(doc), globals)
		for section in [["methods", "method"], ["members", "member"], ["signals", "signal"], ["constants", "constant"]]:
			for item in children(child(doc, section[0]), section[1]):
				var text: String = text_of(item, "description") if section[1] in ["method", "signal"] else item.text.strip_edges()
				var what := "%s %s %s" % [cls, section[1], item.attrs.get("name", "?")]
				check(text.length() >= MIN_DESCRIPTION, what + " has no description")
				check_references(cls, what, text, globals)
				var params := children(item, "param").map(func(p): return p.attrs.get("name", ""))
				for m in _param_regex.search_all(_code_regex.sub(text, "", true)):
					check(m.get_string(1) in params, "%s: [param %s] is not one of its parameters" % [what, m.get_string(1)])
	# Global constants named in the text ([constant OK], [constant ERR_...])
	# must exist: a script using each of them must compile.
	if not globals.is_empty():
		var src := "extends RefCounted\n"
		var i := 0
		for name in globals:
			src += "var c%d = %s\n" % [i, name]
			i += 1
		var script := GDScript.new()
		script.source_code = src
		if script.reload() != OK:
			for name in globals:  # which ones (each failure prints a parse error)
				script = GDScript.new()
				script.source_code = "extends RefCounted\nvar c = %s\n" % name
				check(script.reload() == OK, "[constant %s] is neither a constant of the class nor a global constant" % name)
	return true


## Every [codeblock] example compiles against the registered API. A snippet
## that is not a whole script ("extends ...") is compiled in a function (or,
## when it declares functions, as members) of a Node script that has a
## client, a server, a peer, a host (GoWebSocketMultiplayerPeer) and a token.
func test_doc_examples_compile() -> bool:
	var dir := doc_dir()
	if not check(dir != "", "doc_classes not found (set GOWS_DOC_CLASSES to its path)"):
		return true
	var block := RegEx.create_from_string("(?s)\\[codeblock\\](.*?)\\[/codeblock\\]")
	const PRELUDE := "extends Node\nvar client := GoWebSocketClient.new()\nvar server := GoWebSocketServer.new()\nvar peer := GoWebSocketPeer.new()\nvar host := GoWebSocketMultiplayerPeer.new()\nvar token := \"\"\n"
	for file in DirAccess.get_files_at(dir):
		if file.get_extension() != "xml" or not ClassDB.class_exists(file.get_basename()):
			continue
		var n := 0
		for m in block.search_all(FileAccess.get_file_as_string(dir.path_join(file))):
			n += 1
			var code := m.get_string(1).xml_unescape().dedent().strip_edges()
			if code.begins_with("extends "):
				pass
			elif RegEx.create_from_string("(?m)^func ").search(code):
				code = PRELUDE + code
			else:
				code = PRELUDE + "func _example() -> void:\n" + code.indent("\t")
			var script := GDScript.new()
			script.source_code = code + "\n"
			check(script.reload() == OK, "%s: example %d does not compile" % [file, n])
			check_example_members("%s: example %d" % [file, n], code)
	return true


## GDScript compiles calls of methods that do not exist, so the members used
## on variables of our classes (client., server., peer., host. (a
## GoWebSocketMultiplayerPeer) or any
## "var x := Class.new()") are checked against ClassDB.
func check_example_members(where: String, code: String) -> void:
	code = RegEx.create_from_string("\"[^\"\\n]*\"").sub(code, "\"\"", true)  # no string contents
	var types := {"client": "GoWebSocketClient", "server": "GoWebSocketServer", "peer": "GoWebSocketPeer",
		"host": "GoWebSocketMultiplayerPeer"}
	for m in RegEx.create_from_string("var (\\w+) := (\\w+)\\.new\\(\\)").search_all(code):
		types[m.get_string(1)] = m.get_string(2)
	for m in RegEx.create_from_string("(?<![\\w.])([a-z_]\\w*)\\.([a-z_]\\w*)").search_all(code):
		var cls: String = types.get(m.get_string(1), "")
		var name := m.get_string(2)
		if cls != "" and ClassDB.class_exists(cls):
			check(ClassDB.class_has_method(cls, name) or ClassDB.class_has_signal(cls, name) or has_property(cls, name),
				"%s: %s.%s is not a member of %s" % [where, m.get_string(1), name, cls])
	for m in RegEx.create_from_string("\\bget_peer\\([^()]*\\)\\.(\\w+)").search_all(code):
		check(ClassDB.class_has_method("GoWebSocketPeer", m.get_string(1)),
			"%s: get_peer(...).%s is not a method of GoWebSocketPeer" % [where, m.get_string(1)])


## Every documented class has an icon in the installed descriptor's [icons]
## section (from demo.gdextension), and each icon is a 16x16 SVG in the addon.
func test_class_icons_in_descriptor() -> bool:
	var dir := doc_dir()
	if not check(dir != "", "doc_classes not found (set GOWS_DOC_CLASSES to its path)"):
		return true
	var cfg := ConfigFile.new()
	var descriptor := "res://addons/gowebsocket/gowebsocket.gdextension"
	if not check(cfg.load(descriptor) == OK, "cannot read " + descriptor):
		return true
	var icons := cfg.get_section_keys("icons") if cfg.has_section("icons") else PackedStringArray()
	for file in DirAccess.get_files_at(dir):
		if file.get_extension() == "xml":
			check(file.get_basename() in icons, "%s has no [icons] entry in the descriptor" % file.get_basename())
	for cls in icons:
		var path: String = cfg.get_value("icons", cls)
		check(ClassDB.class_exists(cls) or cls in PENDING, "[icons] names %s, which is not a class" % cls)
		if not check(FileAccess.file_exists(path), "icon of %s: %s does not exist" % [cls, path]):
			continue
		var p := XMLParser.new()
		p.open(path)
		while p.read() == OK and p.get_node_type() != XMLParser.NODE_ELEMENT:
			pass
		check(p.get_node_name() == "svg" and p.get_named_attribute_value_safe("width") == "16"
			and p.get_named_attribute_value_safe("height") == "16", "icon of %s: %s is not a 16x16 <svg>" % [cls, path])
	return true


# --- the comparison ---

func compare_class(cls: String, doc: Dictionary) -> void:
	eq(doc.attrs.get("name", ""), cls, "%s.xml class name" % cls)
	eq(doc.attrs.get("inherits", ""), String(ClassDB.get_parent_class(cls)), "%s inherits" % cls)

	# Properties; their setters and getters are left out of the methods, as
	# Godot's doc tool does.
	var accessors := {}
	var want := {}
	for p in ClassDB.class_get_property_list(cls, true):
		if p.usage & (PROPERTY_USAGE_CATEGORY | PROPERTY_USAGE_GROUP | PROPERTY_USAGE_SUBGROUP | PROPERTY_USAGE_INTERNAL):
			continue
		var setter := String(ClassDB.class_get_property_setter(cls, p.name))
		var getter := String(ClassDB.class_get_property_getter(cls, p.name))
		accessors[setter] = true
		accessors[getter] = true
		var t := doc_type(p, false)
		want[p.name] = {"type": t[0], "enum": t[1], "setter": setter, "getter": getter,
			"default": var_to_str(ClassDB.class_get_property_default_value(cls, p.name))}
	var have := {}
	for m in children(child(doc, "members"), "member"):
		have[m.attrs.get("name", "")] = {"type": m.attrs.get("type", ""), "enum": m.attrs.get("enum", ""),
			"setter": m.attrs.get("setter", ""), "getter": m.attrs.get("getter", ""), "default": m.attrs.get("default", "")}
	compare_sets(cls, "property", want, have)

	want = {}
	for m in ClassDB.class_get_method_list(cls, true):
		var name: String = m.name
		if name.begins_with("_"):
			continue
		if accessors.has(name) and (m.args.is_empty() or (m.args.size() == 1 and m["return"].type == TYPE_NIL)):
			continue
		var r := doc_type(m["return"], true)
		var qualifiers := PackedStringArray()
		if m.flags & METHOD_FLAG_CONST:
			qualifiers.append("const")
		if m.flags & METHOD_FLAG_VARARG:
			qualifiers.append("vararg")
		if m.flags & METHOD_FLAG_STATIC:
			qualifiers.append("static")
		want[name] = {"return": r[0], "return_enum": r[1], "qualifiers": " ".join(qualifiers),
			"params": params_of(m.args, m.default_args)}
	have = {}
	for m in children(child(doc, "methods"), "method"):
		var ret := child(m, "return")
		have[m.attrs.get("name", "")] = {"return": ret.get("attrs", {}).get("type", "void"),
			"return_enum": ret.get("attrs", {}).get("enum", ""), "qualifiers": m.attrs.get("qualifiers", ""),
			"params": doc_params(m)}
	compare_sets(cls, "method", want, have)

	want = {}
	for s in ClassDB.class_get_signal_list(cls, true):
		want[s.name] = {"params": params_of(s.args, [])}
	have = {}
	for s in children(child(doc, "signals"), "signal"):
		have[s.attrs.get("name", "")] = {"params": doc_params(s)}
	compare_sets(cls, "signal", want, have)

	want = {}
	for c in ClassDB.class_get_integer_constant_list(cls, true):
		want[c] = {"value": str(ClassDB.class_get_integer_constant(cls, c)),
			"enum": String(ClassDB.class_get_integer_constant_enum(cls, c, true))}
	have = {}
	for c in children(child(doc, "constants"), "constant"):
		have[c.attrs.get("name", "")] = {"value": c.attrs.get("value", ""), "enum": c.attrs.get("enum", "")}
	compare_sets(cls, "constant", want, have)


## Reports members registered but not documented, documented but not
## registered, and documented with another signature.
func compare_sets(cls: String, kind: String, want: Dictionary, have: Dictionary) -> void:
	for name in want:
		if not have.has(name):
			check(false, "%s %s %s is registered but not documented" % [cls, kind, name])
		else:
			for key in want[name]:
				if want[name][key] != have[name][key]:
					check(false, "%s %s %s: %s documented as %s, registered as %s" % [cls, kind, name, key, JSON.stringify(have[name][key]), JSON.stringify(want[name][key])])
	for name in have:
		if not want.has(name):
			check(false, "%s %s %s is documented but not registered" % [cls, kind, name])


## The doc type of a PropertyInfo: [type, enum].
func doc_type(info: Dictionary, is_return: bool) -> Array:
	var t: int = info.type
	if t == TYPE_NIL:
		if is_return and not (info.usage & PROPERTY_USAGE_NIL_IS_VARIANT):
			return ["void", ""]
		return ["Variant", ""]
	if t == TYPE_OBJECT:
		return [String(info.class_name) if info.class_name != "" else "Object", ""]
	if t == TYPE_INT and info.usage & (PROPERTY_USAGE_CLASS_IS_ENUM | PROPERTY_USAGE_CLASS_IS_BITFIELD):
		return ["int", String(info.class_name)]
	return [type_string(t), ""]


## Registered arguments as the doc writes them; defaults belong to the last
## arguments.
func params_of(args: Array, defaults: Array) -> Array:
	var out := []
	var first_default := args.size() - defaults.size()
	for i in args.size():
		var t := doc_type(args[i], false)
		var d := var_to_str(defaults[i - first_default]) if i >= first_default else ""
		out.append({"name": args[i].name, "type": t[0], "enum": t[1], "default": d})
	return out


func doc_params(node: Dictionary) -> Array:
	var out := []
	var i := 0
	for p in children(node, "param"):
		check(p.attrs.get("index", "") == str(i), "param %s of %s has index %s, want %d" % [p.attrs.get("name"), node.attrs.get("name"), p.attrs.get("index"), i])
		out.append({"name": p.attrs.get("name", ""), "type": p.attrs.get("type", ""), "enum": p.attrs.get("enum", ""), "default": p.attrs.get("default", "")})
		i += 1
	return out


# --- references in the text ---

var _ref_regex := RegEx.create_from_string("\\[(method|member|signal|constant|enum) ([A-Za-z0-9_@.]+)\\]")
var _class_regex := RegEx.create_from_string("\\[([A-Z][A-Za-z0-9_]*)\\]")
var _param_regex := RegEx.create_from_string("\\[param ([A-Za-z0-9_]+)\\]")
var _code_regex := RegEx.create_from_string("(?s)\\[codeblock\\].*?\\[/codeblock\\]|\\[code\\].*?\\[/code\\]")


## Every [method x], [member x], [signal x], [constant x], [enum x] and
## [ClassName] in text must name something that exists (x may be Class.x).
## Global constants are collected into globals and checked together.
func check_references(cls: String, where: String, text: String, globals: Dictionary) -> void:
	text = _code_regex.sub(text, "", true)
	for m in _class_regex.search_all(text):
		var name := m.get_string(1)
		check(ClassDB.class_exists(name) or builtin_types().has(name), "%s: [%s] is not a class" % [where, name])
	for m in _ref_regex.search_all(text):
		var kind := m.get_string(1)
		var target := m.get_string(2)
		var owner := cls
		if target.contains("."):
			owner = target.get_slice(".", 0)
			target = target.get_slice(".", 1)
		if owner == "@GlobalScope" or (kind == "constant" and owner == cls and not ClassDB.class_has_integer_constant(cls, target)):
			globals[target] = true
			continue
		var ok := false
		if ClassDB.class_exists(owner):
			match kind:
				"method": ok = ClassDB.class_has_method(owner, target) or has_virtual(owner, target)
				"member": ok = has_property(owner, target)
				"signal": ok = ClassDB.class_has_signal(owner, target)
				"constant": ok = ClassDB.class_has_integer_constant(owner, target)
				"enum": ok = ClassDB.class_has_enum(owner, target)
		check(ok, "%s: [%s %s] does not exist" % [where, kind, m.get_string(2)])


var _builtin_types := {}


## Variant type names ([Dictionary], [PackedByteArray] ...), which are not classes.
func builtin_types() -> Dictionary:
	if _builtin_types.is_empty():
		for t in TYPE_MAX:
			_builtin_types[type_string(t)] = true
	return _builtin_types


func has_virtual(cls: String, name: String) -> bool:
	for m in ClassDB.class_get_method_list(cls):
		if m.name == name:
			return true
	return false


func has_property(cls: String, name: String) -> bool:
	for p in ClassDB.class_get_property_list(cls):
		if p.name == name:
			return true
	return false


# --- reading the XML ---

func doc_dir() -> String:
	var candidates := [OS.get_environment("GOWS_DOC_CLASSES"), "res://addons/gowebsocket/doc_classes",
		ProjectSettings.globalize_path("res://").path_join("../doc_classes").simplify_path()]
	for d in candidates:
		if d != "" and DirAccess.dir_exists_absolute(d):
			return d
	return ""


## Parses an XML file into nested {name, attrs, children, text}; reports and
## returns {} when it is not well-formed.
func parse_doc(path: String) -> Dictionary:
	var p := XMLParser.new()
	if not check(p.open(path) == OK, "cannot open " + path):
		return {}
	var root := {}
	var stack := []
	while true:
		var err := p.read()
		if err == ERR_FILE_EOF:
			break
		if not check(err == OK, "%s: malformed XML at line %d" % [path, p.get_current_line()]):
			return {}
		match p.get_node_type():
			XMLParser.NODE_ELEMENT:
				var node := {"name": p.get_node_name(), "attrs": {}, "children": [], "text": ""}
				for i in p.get_attribute_count():
					node.attrs[p.get_attribute_name(i)] = p.get_attribute_value(i)
				if stack.is_empty():
					if not check(root.is_empty(), "%s: more than one root element" % path):
						return {}
					root = node
				else:
					stack.back().children.append(node)
				if not p.is_empty():
					stack.push_back(node)
			XMLParser.NODE_ELEMENT_END:
				if not check(not stack.is_empty() and stack.back().name == p.get_node_name(),
						"%s: unexpected </%s> at line %d" % [path, p.get_node_name(), p.get_current_line()]):
					return {}
				stack.pop_back()
			XMLParser.NODE_TEXT, XMLParser.NODE_CDATA:
				if not stack.is_empty():
					stack.back().text += p.get_node_data()
	if not check(stack.is_empty() and root.get("name", "") == "class", "%s: not a complete <class> document" % path):
		return {}
	return root


func child(node: Dictionary, name: String) -> Dictionary:
	for c in node.get("children", []):
		if c.name == name:
			return c
	return {}


func children(node: Dictionary, name: String) -> Array:
	return node.get("children", []).filter(func(c): return c.name == name)


func text_of(node: Dictionary, name: String) -> String:
	return child(node, name).get("text", "").strip_edges()


## The class's brief and full descriptions together.
func doc_text(doc: Dictionary) -> String:
	return text_of(doc, "brief_description") + "\n" + text_of(doc, "description")
