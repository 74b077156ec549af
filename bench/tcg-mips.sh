#!/bin/sh
# Guest MIPS of the interpreter vs the translator (accel-tcg) on a tight integer loop and a memory-heavy loop.
# Usage: bench/tcg-mips.sh [seconds per measurement, default 3]. Needs nasm.
set -e
cd "$(dirname "$0")/.."
: "${JAVA_HOME:=/usr/lib/jvm/temurin-25-jdk-amd64}"
export JAVA_HOME MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}"
mvn -q -o -pl accel-tcg -am test-compile
CP=accel-tcg/target/test-classes:accel-tcg/target/classes:target-i386/target/test-classes:target-i386/target/classes:memory/target/classes:fpu/target/classes
JUNIT=$(find "$HOME/.m2/repository/org/junit" -name 'junit-jupiter-api-*.jar' 2>/dev/null | head -1)
OPENTEST=$(find "$HOME/.m2/repository/org/opentest4j" -name '*.jar' 2>/dev/null | head -1)
exec "$JAVA_HOME/bin/java" -cp "$CP:$JUNIT:$OPENTEST" org.jqemu.accel.tcg.TcgBench "$@"
