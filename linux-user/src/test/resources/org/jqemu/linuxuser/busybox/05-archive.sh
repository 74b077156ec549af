# tar czf/xzf, gzip/gunzip -9, bzip2, xz, md5sum, sha256sum, od, dd, diff
mkdir src; seq 1 3000 > src/numbers; printf 'line\n%.0s' $(seq 1 200) > src/lines
touch -d '2020-01-02 03:04:05' src/numbers src/lines src
tar czf out.tgz src
mkdir dst; cd dst; tar xzf ../out.tgz; cd ..
diff -r src dst/src && echo trees-equal
tar tzf out.tgz | sort
gzip -9 -c src/numbers > n.gz; gunzip -c n.gz | md5sum
cp src/numbers n2; gzip -9 n2; ls n2*; gunzip n2.gz; cmp n2 src/numbers && echo gunzip-ok
bzip2 -c src/numbers | bzip2 -d | sha256sum
unxz -c lines.xz | md5sum; cp lines.xz l.xz; unxz l.xz; tail -n 1 l
printf 'ABC\001\377' | od -A x -t x1
dd if=src/numbers of=part bs=100 count=3 skip=2 2>/dev/null; md5sum < part
dd if=/dev/zero bs=512 count=4 2>&1 | wc -c
echo a > x; echo b > y; diff x y; echo "diff status $?"
sha256sum src/lines | cut -c1-16
