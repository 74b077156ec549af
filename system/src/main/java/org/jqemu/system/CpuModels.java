package org.jqemu.system;

import java.util.LinkedHashMap;
import java.util.Map;

import org.jqemu.util.FrontEnd.UserError;

/**
 * The CPU models "-cpu" accepts, as plain data (names and descriptions only; what each model means is the
 * CPU's business). Unversioned names are aliases of their "-v1" model, as in QEMU 7.2.
 */
public final class CpuModels {
    private static final String ALIAS = "(alias configured by machine type)";

    /** Name to description, in the order "-cpu help" prints them. */
    private static final Map<String, String> MODELS = new LinkedHashMap<>();

    static {
        versioned("486", "");
        versioned("pentium", "");
        versioned("pentium2", "");
        versioned("pentium3", "");
        versioned("qemu32", "QEMU Virtual CPU version 2.5+");
        MODELS.put("base", "base CPU model type with no features enabled");
        MODELS.put("host", "processor with all supported host features ");
        MODELS.put("max", "Enables all features supported by the accelerator in the current host");
    }

    private CpuModels() { }

    private static void versioned(String name, String description) {
        MODELS.put(name, ALIAS);
        MODELS.put(name + "-v1", description);
    }

    public static boolean exists(String model) { return MODELS.containsKey(model); }

    /** Checks a model name with QEMU's messages ("host" needs a hardware accelerator, which jqemu lacks). */
    public static void check(String model) {
        if (!exists(model)) throw new UserError("unable to find CPU model '" + model + "'");
        if (model.equals("host")) throw new UserError("CPU model 'host' requires KVM or HVF");
    }

    /** The text of "-cpu help". */
    public static String help() {
        StringBuilder out = new StringBuilder("Available CPUs:\n");
        MODELS.forEach((name, description) -> out.append(String.format("x86 %-22s%s\n", name, description)));
        return out.toString();
    }
}
