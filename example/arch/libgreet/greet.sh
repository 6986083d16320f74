# libgreet: shell functions that greet. Source it: . /usr/lib/libgreet/greet.sh
greet_line() {
  # greet_line NAME [GREETING]: one line of greeting.
  printf '%s, %s!\n' "${2:-Hello}" "$1"
}
