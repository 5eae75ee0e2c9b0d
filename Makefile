# SPDX-License-Identifier: GPL-2.0
#
# vdmabuf: see README.md.
#
#   make demo               bring up the toolchain and test kernel if needed, boot a VM, show the drivers
#   make check              build everything and run every test suite in VMs
#   make stress             the race tests of make check, each ten times longer
#   make KDIR=<dir>         build the two modules against your own Rust-enabled kernel build tree
#   make                    build the two modules against the project's test kernel

LLVM ?= 1
export LLVM

ifneq ($(KDIR),)

modules: kdir-check
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(if $(CLIPPY),CLIPPY=$(CLIPPY)) modules

# The one place that decides whether KDIR can build Rust modules, with a message that says why not.
kdir-check:
	@sh $(CURDIR)/scripts/kdir-check.sh $(KDIR)

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean

else

modules:
	sh scripts/build.sh

clean:
	rm -rf build
	find drivers samples rust -name '*.o' -o -name '*.ko' -o -name '*.mod*' -o -name '.*.cmd' \
		-o -name '*.d' -o -name 'modules.order' -o -name 'Module.symvers' | xargs rm -f

endif

demo:
	sh scripts/demo.sh

check:
	sh scripts/check.sh

bench:
	sh scripts/bench.sh

stress:
	sh scripts/stress.sh

profile:
	sh scripts/profile.sh

.PHONY: modules kdir-check clean demo check bench stress profile
