extends SceneTree
## Packs this project into a .pck the way Godot's exporter lays a game out,
## for export_test.sh:  godot --headless --path project --script res://tests/pack.gd -- OUT.pck
## Every project file goes in except the native libraries (an exported game
## has those beside the executable, not in the pack) and the .godot folder,
## of which only the extension list and the script class cache go in.

const SKIP_DIRS := ["res://.godot", "res://addons/gowebsocket/bin"]


func _initialize() -> void:
	var args := OS.get_cmdline_user_args()
	if args.size() != 1:
		printerr("usage: --script res://tests/pack.gd -- OUT.pck")
		quit(2)
		return
	var files: Array[String] = []
	_collect("res://", files)
	files.append("res://.godot/extension_list.cfg")
	files.append("res://.godot/global_script_class_cache.cfg")
	var packer := PCKPacker.new()
	var err := packer.pck_start(args[0])
	for f in files:
		if err == OK:
			err = packer.add_file(f, ProjectSettings.globalize_path(f))
	if err == OK:
		err = packer.flush()
	if err != OK:
		printerr("pack.gd: error %d" % err)
		quit(1)
		return
	print("pack.gd: packed %d files into %s" % [files.size(), args[0]])
	quit(0)


func _collect(dir: String, files: Array[String]) -> void:
	for sub in DirAccess.get_directories_at(dir):
		var path := dir.path_join(sub)
		if path not in SKIP_DIRS:
			_collect(path, files)
	for f in DirAccess.get_files_at(dir):
		files.append(dir.path_join(f))
