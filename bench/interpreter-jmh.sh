#!/bin/sh
# Guest MIPS of the interpreter (X86Cpu.run) under JMH: a tight integer loop, a memory-heavy loop and an x87 loop
# (bench/jmh/src/.../InterpreterBench.java). The score is operations per microsecond with one operation = one guest
# instruction, i.e. guest MIPS. Usage: bench/interpreter-jmh.sh [JMH options, e.g. -wi 3 -i 5 -f 1 or a -p loop=x87].
# The first run downloads JMH (bench/jmh/pom.xml) through Maven.
set -e
cd "$(dirname "$0")/.."
: "${JAVA_HOME:=/usr/lib/jvm/temurin-25-jdk-amd64}"
export JAVA_HOME MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}"
out=bench/jmh/target
mkdir -p "$out/classes"
mvn -q -o -pl target-i386 -am compile
mvn -q -f bench/jmh/pom.xml dependency:build-classpath -Dmdep.outputFile=target/jmh.classpath >/dev/null \
  || mvn -q -o -f bench/jmh/pom.xml dependency:build-classpath -Dmdep.outputFile=target/jmh.classpath
JMH=$(cat "$out/jmh.classpath")
CP=target-i386/target/classes:memory/target/classes:fpu/target/classes
"$JAVA_HOME/bin/javac" --release 25 -proc:full -cp "$JMH:$CP" -processorpath "$JMH" \
  -d "$out/classes" $(find bench/jmh/src/main/java -name '*.java')
exec "$JAVA_HOME/bin/java" -cp "$out/classes:$JMH:$CP" org.openjdk.jmh.Main "$@"
