#!/bin/sh
# /init of a pagelab guest: apply this configuration (the guest is ours, the host's
# settings are never touched), run every lesson's checks and every exercise's, print the
# JSON of each between markers.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs -o mode=1777 tmp /tmp
mount -t devtmpfs dev /dev 2>/dev/null
if [ -n "$PAGELAB_OVERCOMMIT" ]; then
    echo "$PAGELAB_OVERCOMMIT" > /proc/sys/vm/overcommit_memory
fi
# PAGELAB_MTHP is a comma-separated list of SIZE_KB:MODE, e.g. 64:always,2048:never.
for pair in $(echo "$PAGELAB_MTHP" | tr ',' ' '); do
    echo "${pair#*:}" > "/sys/kernel/mm/transparent_hugepage/hugepages-${pair%%:*}kB/enabled"
done
export PAGELAB_LESSONS=/lessons NO_COLOR=1
cd /
# run COMMAND...: /pagelab COMMAND as this configuration's user, with its memlock limit.
run() {
    if [ -n "$PAGELAB_USER" ]; then
        su -s /bin/sh "$PAGELAB_USER" -c "ulimit -l $PAGELAB_MEMLOCK_KB && exec /pagelab $*"
    else
        /pagelab "$@"
    fi
}
run check --format json > /tmp/out.json 2> /tmp/err.txt
rc=$?
echo PAGELAB-JSON-BEGIN
cat /tmp/out.json
echo "PAGELAB-JSON-END rc=$rc"
run exercise --format json > /tmp/exercises.json 2>> /tmp/err.txt
rc=$?
echo PAGELAB-EXERCISES-BEGIN
cat /tmp/exercises.json
echo "PAGELAB-EXERCISES-END rc=$rc"
cat /tmp/err.txt
poweroff -f
