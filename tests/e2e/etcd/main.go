// etcd is the etcd server, built from its Go module: etcdmain parses the rendered flags
// exactly as the released binary does.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
