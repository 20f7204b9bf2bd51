#!/bin/sh
# /init of a pagelab guest: apply this configuration (the guest is ours, the host's
# settings are never touched), run every lesson's checks and every exercise's, print the
# result file between markers.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs -o mode=1777 tmp /tmp
mount -t devtmpfs dev /dev 2>/dev/null
# POSIX shared memory lives in a tmpfs at /dev/shm (shm_overview(7)); anyone may create in
# it, as on a distribution (mode 1777, sticky).
mkdir -p /dev/shm && mount -t tmpfs -o mode=1777 shm /dev/shm ||
    echo "PAGELAB-CONFIG-ERROR mounting a tmpfs at /dev/shm failed"
# Modules this configuration needs, in load order (dependencies first): the host put them
# in /modules with numbered names.
for module in /modules/*.ko; do
    [ -f "$module" ] || continue
    insmod "$module" || echo "PAGELAB-CONFIG-ERROR insmod $module failed"
done
# PAGELAB_ZRAM_KB: swap on a zram device of that size (uncompressed capacity; it holds
# memory only for what is swapped out). zram.ko is among the modules above.
if [ -n "$PAGELAB_ZRAM_KB" ]; then
    if echo "${PAGELAB_ZRAM_KB}K" > /sys/block/zram0/disksize && mkswap /dev/zram0 >/dev/null &&
        swapon /dev/zram0; then
        :
    else
        echo "PAGELAB-CONFIG-ERROR swap on zram0 (${PAGELAB_ZRAM_KB} kB) failed"
    fi
    while read -r key value unit; do
        if [ "$key" = SwapTotal: ] && [ "$value" = 0 ]; then
            echo "PAGELAB-CONFIG-ERROR SwapTotal is 0 after swapon /dev/zram0"
        fi
    done < /proc/meminfo
fi
# PAGELAB_HUGEPAGES: the hugepages= the kernel was booted with; it allocates the pool at
# boot, and may give fewer pages than asked for when memory is short.
if [ -n "$PAGELAB_HUGEPAGES" ]; then
    total=
    while read -r key value; do
        if [ "$key" = HugePages_Total: ]; then total=$value; fi
    done < /proc/meminfo
    if [ "$total" != "$PAGELAB_HUGEPAGES" ]; then
        echo "PAGELAB-CONFIG-ERROR hugepages=$PAGELAB_HUGEPAGES gave HugePages_Total ${total:-(none)}"
    fi
fi
# PAGELAB_HUGETLB_SURPLUS: vm.nr_overcommit_hugepages, surplus huge pages the kernel may
# allocate beyond the (empty) pool.
if [ -n "$PAGELAB_HUGETLB_SURPLUS" ]; then
    echo "$PAGELAB_HUGETLB_SURPLUS" > /proc/sys/vm/nr_overcommit_hugepages ||
        echo "PAGELAB-CONFIG-ERROR writing $PAGELAB_HUGETLB_SURPLUS to nr_overcommit_hugepages failed"
fi
if [ -n "$PAGELAB_OVERCOMMIT" ]; then
    echo "$PAGELAB_OVERCOMMIT" > /proc/sys/vm/overcommit_memory ||
        echo "PAGELAB-CONFIG-ERROR writing $PAGELAB_OVERCOMMIT to overcommit_memory failed"
fi
# PAGELAB_MTHP is a comma-separated list of SIZE:MODE applied in order. SIZE is relative
# to this kernel's pages, whose size differs between kernels: `16p` is 16 pages, `pmd` the
# PMD-sized huge page, `all` every size with an `enabled` control (7.x also lists a
# 2-page size without one). A size the kernel lacks is reported, never silently dropped.
thp=/sys/kernel/mm/transparent_hugepage
if [ -n "$PAGELAB_MTHP" ]; then
    page_kb=
    while read -r key value unit; do
        if [ "$key" = KernelPageSize: ]; then page_kb=$value; break; fi
    done < /proc/self/smaps
    pmd_kb=$(( $(cat $thp/hpage_pmd_size) / 1024 ))
fi
for pair in $(echo "$PAGELAB_MTHP" | tr ',' ' '); do
    size=${pair%%:*}
    mode=${pair#*:}
    case $size in
        all) controls=$(echo $thp/hugepages-*kB/enabled) ;;
        pmd) controls=$thp/hugepages-${pmd_kb}kB/enabled ;;
        *p) controls=$thp/hugepages-$(( ${size%p} * page_kb ))kB/enabled ;;
        *) controls=unknown-size-$size ;;
    esac
    for control in $controls; do
        if [ -f "$control" ]; then
            echo "$mode" > "$control" || echo "PAGELAB-CONFIG-ERROR writing $mode to $control failed"
        else
            echo "PAGELAB-CONFIG-ERROR no $control (PAGELAB_MTHP=$PAGELAB_MTHP)"
        fi
    done
done
export PAGELAB_LESSONS=/lessons NO_COLOR=1
cd /
# run COMMAND...: /pagelab COMMAND as this configuration's user, with its memlock limit
# (set as root, before su: the user could lower it but not raise it to unlimited).
run() {
    if [ -n "$PAGELAB_USER" ]; then
        (ulimit -l "$PAGELAB_MEMLOCK_KB" && exec su -s /bin/sh "$PAGELAB_USER" -c "exec /pagelab $*")
    else
        /pagelab "$@"
    fi
}
run check --format json --exercises > /tmp/out.json 2> /tmp/err.txt
rc=$?
echo PAGELAB-JSON-BEGIN
cat /tmp/out.json
echo "PAGELAB-JSON-END rc=$rc"
cat /tmp/err.txt
poweroff -f
