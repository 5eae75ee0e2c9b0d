# SPDX-License-Identifier: GPL-2.0
# vm: mem=1G
tap sync_test /tests/sync_test
