// A cgo program (so it is dynamically linked) for the patchelf-helper tests.
package main

// #include <stdlib.h>
import "C"

import (
	"fmt"
	"os"
)

func main() {
	C.free(nil)
	fmt.Printf("hello from go with %d argument(s)\n", len(os.Args)-1)
	os.Exit(3)
}
