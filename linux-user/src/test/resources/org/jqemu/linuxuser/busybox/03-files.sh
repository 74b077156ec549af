# ls -l, cp, mv, rm, find, xargs, mkdir, chmod, ln
umask 022
mkdir -p a/b/c
echo one > a/one.txt; echo two > a/b/two.txt; echo three > a/b/c/three.txt
chmod 600 a/one.txt
ln -s one.txt a/link  # a symlink keeps its creation time: ls shows it as (recent), as the two runs may straddle a minute
touch -d '2020-01-02 03:04:05' a/one.txt a/b/two.txt a/b/c/three.txt a/b/c a/b a
ls -l a | sed 's/ [a-z0-9_-]* *[a-z0-9_-]* *\([0-9]* Jan\)/ OWNER \1/' | awk '{print $1, $5, $6, $7, $8, $9, $10, $11}' \
  | sed 's/[A-Z][a-z][a-z] *[0-9]* [0-9][0-9]:[0-9][0-9]/(recent)/'
find a | sort
find a -type f -name '*.txt' | sort | xargs cat
cp -r a copy; find copy -type f | sort | xargs md5sum
mv copy/one.txt copy/uno.txt; ls copy
rm -r copy; ls
find a -type f | xargs -n1 basename | sort
rm a/b/two.txt; rmdir a/b 2>&1 | sed 's/^.*: //'
ls -a a
stat -c '%a %s %n' a/one.txt
