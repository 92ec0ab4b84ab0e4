# bench/lib.sh - what bench/run and bench/run-mpi share: sizes and the
# KJV corpus. Sourced by bash; the caller defines `die MESSAGE` and sets
# `data`, the cache directory.

# bytes SIZE: SIZE with an optional K, M or G suffix (powers of 1024)
bytes() {
	case $1 in
	*[0-9]K) echo $((${1%K} << 10)) ;;
	*[0-9]M) echo $((${1%M} << 20)) ;;
	*[0-9]G) echo $((${1%G} << 30)) ;;
	*[0-9]) echo "$1" ;;
	*) return 1 ;;
	esac
}

# need_kjv: sets kjv to $data/kjv.txt, the KJV from bible-kjv without its
# verse references ("Ge1:1 ", "1Sm3:4 "), so that words are words
need_kjv() {
	kjv=$data/kjv.txt
	[ -s "$kjv" ] && return 0
	command -v bible >/dev/null ||
		die "no 'bible' command: apt-get install bible-kjv"
	bible -f 'Genesis1:1-Revelation22:21' |
		sed -E 's/^[1-3]?[A-Za-z]+[0-9]+:[0-9]+ //' >"$kjv.new" &&
		mv "$kjv.new" "$kjv" || die "cannot write '$kjv'"
}

# kjv_count BYTES: sets kjv_n to the number of whole copies of the KJV
# that make at least BYTES
kjv_count() {
	local kb
	need_kjv
	kb=$(stat -c %s "$kjv")
	kjv_n=$((($1 + kb - 1) / kb))
}

# kjv_copies N: sets kjv_file to $data/corpus-N.txt, N copies of the KJV,
# made when missing (kept between runs)
kjv_copies() {
	local i
	need_kjv
	kjv_file=$data/corpus-$1.txt
	[ -s "$kjv_file" ] && return 0
	for ((i = 0; i < $1; i++)); do cat "$kjv"; done >"$kjv_file.new" &&
		mv "$kjv_file.new" "$kjv_file" || die "cannot write '$kjv_file'"
}
