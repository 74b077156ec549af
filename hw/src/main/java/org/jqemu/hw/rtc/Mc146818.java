package org.jqemu.hw.rtc;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.List;
import org.jqemu.hw.core.DeviceState;
import org.jqemu.hw.isa.ByteIoPorts;
import org.jqemu.hw.isa.PortRange;
import org.jqemu.hw.timer.VirtualClock;
import org.jqemu.memory.IrqLine;

/**
 * The Motorola MC146818A real-time clock with its 128 bytes of battery-backed CMOS RAM: index port 0x70
 * (bit 7 masks NMI), data port 0x71, interrupt on IRQ8.
 *
 * <p>Time is kept as guest wall-clock nanoseconds at a point of the virtual clock and computed on read,
 * in BCD or binary and 12 or 24 hours as register B says; the time zone is UTC. The periodic, alarm and
 * update-ended flags of register C are brought up to date lazily (on access) and by a timer armed only
 * while one of their interrupts is enabled. The update cycle is instantaneous at each second boundary;
 * UIP reads 1 during the 244 us before it. Daylight saving (DSE) and the square-wave pin are not modelled.
 */
public final class Mc146818 implements ByteIoPorts, DeviceState {
    // ---- registers and constants ----
    public static final int INDEX_PORT = 0x70;
    public static final int DATA_PORT = 0x71;
    public static final int CMOS_SIZE = 128;

    public static final int REG_SECONDS = 0x00;
    public static final int REG_SECONDS_ALARM = 0x01;
    public static final int REG_MINUTES = 0x02;
    public static final int REG_MINUTES_ALARM = 0x03;
    public static final int REG_HOURS = 0x04;
    public static final int REG_HOURS_ALARM = 0x05;
    public static final int REG_DAY_OF_WEEK = 0x06;
    public static final int REG_DAY_OF_MONTH = 0x07;
    public static final int REG_MONTH = 0x08;
    public static final int REG_YEAR = 0x09;
    public static final int REG_A = 0x0a;
    public static final int REG_B = 0x0b;
    public static final int REG_C = 0x0c;
    public static final int REG_D = 0x0d;
    /** IBM century byte (BCD or binary like the other time registers); SeaBIOS and Linux read it. */
    public static final int REG_CENTURY = 0x32;

    private static final int NMI_MASK = 0x80;
    private static final int A_UIP = 0x80;
    private static final int A_DIVIDER = 0x70;
    private static final int A_DIVIDER_NORMAL = 0x20;
    private static final int A_RATE = 0x0f;
    private static final int B_SET = 0x80;
    private static final int B_PIE = 0x40;
    private static final int B_AIE = 0x20;
    private static final int B_UIE = 0x10;
    private static final int B_SQWE = 0x08;
    private static final int B_DM_BINARY = 0x04;
    private static final int B_24_HOUR = 0x02;
    private static final int C_IRQF = 0x80;
    private static final int C_PF = 0x40;
    private static final int C_AF = 0x20;
    private static final int C_UF = 0x10;
    private static final int D_VRT = 0x80;
    private static final int ALARM_DONT_CARE = 0xc0;
    private static final int HOUR_PM = 0x80;

    private static final long SECOND = VirtualClock.NANOS_PER_SECOND;
    private static final long OSCILLATOR_HZ = 32_768;
    private static final long UIP_LEAD_NS = 244_000;
    private static final long FIRST_UPDATE_AFTER_RESET_NS = SECOND / 2;
    private static final int MAX_YEAR = 2199;

    // ---- state ----
    private final VirtualClock clock;
    private final IrqLine irq;
    private final VirtualClock.Timer timer;
    private final byte[] cmos = new byte[CMOS_SIZE];
    private int index;
    private boolean nmiMasked;
    /** Guest wall time (ns since 1970, UTC) at virtual-clock time {@link #baseClockNanos}. */
    private long baseGuestNanos;
    private long baseClockNanos;
    /** Guest time up to which register C's flags have been brought. */
    private long flagsCheckedAt;
    private boolean irqLevel;

    /**
     * @param startEpochNanos guest wall time when the virtual clock reads 0 (host time, or a fixed base)
     */
    public Mc146818(VirtualClock clock, IrqLine irq, long startEpochNanos) {
        this.clock = clock;
        this.irq = irq;
        this.timer = clock.newTimer(this::onTimer);
        baseGuestNanos = Math.max(0, startEpochNanos);
        baseClockNanos = 0;
        cmos[REG_A] = (byte) 0x26;
        cmos[REG_B] = (byte) B_24_HOUR;
        cmos[REG_D] = (byte) D_VRT;
        flagsCheckedAt = guestNanos();
        writeCentury(LocalDateTime.ofEpochSecond(Math.floorDiv(flagsCheckedAt, SECOND), 0, ZoneOffset.UTC).getYear());
    }

    @Override
    public List<PortRange> portRanges() {
        return List.of(new PortRange(INDEX_PORT, 2));
    }

    /** True while the last index write had bit 7 set: the machine must hold NMI off. */
    public boolean nmiMasked() {
        return nmiMasked;
    }

    /** Host-side access to CMOS RAM (the machine fills it at power-on); registers 0-13 are not touched. */
    public int readCmos(int offset) {
        return cmos[offset & 0x7f] & 0xff;
    }

    public void writeCmos(int offset, int value) {
        int i = offset & 0x7f;
        if (i > REG_D) {
            cmos[i] = (byte) value;
        }
    }

    /** Guest wall time now, in ns since the epoch. */
    public long guestNanos() {
        return dividerRunning() ? baseGuestNanos + (clock.nowNanos() - baseClockNanos) : baseGuestNanos;
    }

    private boolean dividerRunning() {
        return (cmos[REG_A] & A_DIVIDER) == A_DIVIDER_NORMAL;
    }

    private boolean updatesHalted() {
        return (reg(REG_B) & B_SET) != 0;
    }

    private int reg(int i) {
        return cmos[i] & 0xff;
    }

    // ---- guest-visible read/write ----
    @Override
    public int inByte(int port) {
        if (port != DATA_PORT) {
            return 0xff;
        }
        catchUp();
        return switch (index) {
            case REG_SECONDS, REG_MINUTES, REG_HOURS, REG_DAY_OF_WEEK, REG_DAY_OF_MONTH, REG_MONTH, REG_YEAR,
                 REG_CENTURY -> {
                refreshTimeRegisters();
                yield reg(index);
            }
            case REG_A -> reg(REG_A) | (updateInProgress() ? A_UIP : 0);
            case REG_C -> {
                int value = reg(REG_C);
                cmos[REG_C] = 0;
                updateIrq();
                yield value;
            }
            case REG_D -> D_VRT;
            default -> reg(index);
        };
    }

    private boolean updateInProgress() {
        if (!dividerRunning() || updatesHalted()) {
            return false;
        }
        return Math.floorMod(guestNanos(), SECOND) >= SECOND - UIP_LEAD_NS;
    }

    @Override
    public void outByte(int port, int value) {
        value &= 0xff;
        if (port == INDEX_PORT) {
            index = value & 0x7f;
            nmiMasked = (value & NMI_MASK) != 0;
            return;
        }
        if (port != DATA_PORT) {
            return;
        }
        catchUp();
        switch (index) {
            case REG_SECONDS, REG_MINUTES, REG_HOURS, REG_DAY_OF_WEEK, REG_DAY_OF_MONTH, REG_MONTH, REG_YEAR,
                 REG_CENTURY -> writeTimeRegister(index, value);
            case REG_A -> writeRegisterA(value);
            case REG_B -> writeRegisterB(value);
            case REG_C, REG_D -> { }
            default -> cmos[index] = (byte) value;
        }
        updateIrq();
        scheduleTimer();
    }

    private void writeTimeRegister(int i, int value) {
        if (updatesHalted()) {
            cmos[i] = (byte) value;
            return;
        }
        refreshTimeRegisters();
        cmos[i] = (byte) value;
        rebaseFromRegisters();
    }

    private void writeRegisterA(int value) {
        boolean wasRunning = dividerRunning();
        long now = guestNanos();
        cmos[REG_A] = (byte) (value & ~A_UIP);
        boolean running = dividerRunning();
        if (wasRunning && !running) {
            baseGuestNanos = now;
            baseClockNanos = clock.nowNanos();
        } else if (!wasRunning && running) {
            // Leaving divider reset: the first update comes half a second later.
            baseGuestNanos = Math.floorDiv(now, SECOND) * SECOND + FIRST_UPDATE_AFTER_RESET_NS;
            baseClockNanos = clock.nowNanos();
            flagsCheckedAt = baseGuestNanos;
        }
    }

    private void writeRegisterB(int value) {
        boolean wasHalted = updatesHalted();
        if (!wasHalted && (value & B_SET) != 0) {
            refreshTimeRegisters();   // freeze what the guest will now edit
            value &= ~B_UIE;          // setting SET clears UIE
        }
        if (wasHalted && (value & B_SET) == 0) {
            // The registers were written in the format in force while SET was held, not the new one.
            rebaseFromRegisters();
        }
        cmos[REG_B] = (byte) value;
    }

    // ---- time keeping ----
    /** Copies the current time into registers 0-9 and the century byte, unless SET holds them. */
    private void refreshTimeRegisters() {
        if (updatesHalted()) {
            return;
        }
        LocalDateTime t = LocalDateTime.ofEpochSecond(Math.floorDiv(guestNanos(), SECOND), 0, ZoneOffset.UTC);
        cmos[REG_SECONDS] = (byte) encode(t.getSecond());
        cmos[REG_MINUTES] = (byte) encode(t.getMinute());
        cmos[REG_HOURS] = (byte) encodeHour(t.getHour());
        cmos[REG_DAY_OF_WEEK] = (byte) encode(t.getDayOfWeek().getValue() % 7 + 1);
        cmos[REG_DAY_OF_MONTH] = (byte) encode(t.getDayOfMonth());
        cmos[REG_MONTH] = (byte) encode(t.getMonthValue());
        cmos[REG_YEAR] = (byte) encode(t.getYear() % 100);
        writeCentury(t.getYear());
    }

    private void writeCentury(int year) {
        cmos[REG_CENTURY] = (byte) encode(year / 100);
    }

    /** Sets the time from registers 0-9 and the century byte, keeping the divider's sub-second phase. */
    private void rebaseFromRegisters() {
        long phase = Math.floorMod(guestNanos(), SECOND);
        baseGuestNanos = registersToEpochSeconds() * SECOND + phase;
        baseClockNanos = clock.nowNanos();
        flagsCheckedAt = guestNanos();
    }

    /** Hostile register contents are clamped to a valid date rather than refused, like a real chip rolls on. */
    private long registersToEpochSeconds() {
        int year = clamp(decode(reg(REG_CENTURY)) * 100 + decode(reg(REG_YEAR)), 1970, MAX_YEAR);
        int month = clamp(decode(reg(REG_MONTH)), 1, 12);
        int day = clamp(decode(reg(REG_DAY_OF_MONTH)), 1, 31);
        int hour = clamp(decodeHour(reg(REG_HOURS)), 0, 23);
        int minute = clamp(decode(reg(REG_MINUTES)), 0, 59);
        int second = clamp(decode(reg(REG_SECONDS)), 0, 59);
        long days = LocalDate.of(year, month, 1).toEpochDay() + day - 1;
        return days * 86_400 + hour * 3600L + minute * 60L + second;
    }

    private static int clamp(int v, int lo, int hi) {
        return Math.max(lo, Math.min(hi, v));
    }

    private boolean binary() {
        return (reg(REG_B) & B_DM_BINARY) != 0;
    }

    private int encode(int v) {
        return binary() ? v : (v / 10) << 4 | v % 10;
    }

    private int decode(int v) {
        return binary() ? v : (v >>> 4) * 10 + (v & 15);
    }

    private int encodeHour(int hour) {
        if ((reg(REG_B) & B_24_HOUR) != 0) {
            return encode(hour);
        }
        int h12 = hour % 12 == 0 ? 12 : hour % 12;
        return encode(h12) | (hour >= 12 ? HOUR_PM : 0);
    }

    /** Bit 7 is the PM flag; it is ignored in 24-hour mode rather than read as part of the hour. */
    private int decodeHour(int v) {
        int hour = decode(v & ~HOUR_PM);
        if ((reg(REG_B) & B_24_HOUR) != 0) {
            return hour;
        }
        return hour % 12 + ((v & HOUR_PM) != 0 ? 12 : 0);
    }

    // ---- interrupts ----
    /** log2 of the periodic interrupt period in 32.768 kHz ticks, or -1 when RS selects none. */
    private int periodicShift() {
        int rs = reg(REG_A) & A_RATE;
        if (rs == 0) {
            return -1;
        }
        return rs <= 2 ? rs + 6 : rs - 1;
    }

    /** Raises register C's flags for every boundary the guest time crossed since the last check. */
    private void catchUp() {
        long now = guestNanos();
        long then = flagsCheckedAt;
        if (now <= then) {
            return;
        }
        flagsCheckedAt = now;
        int shift = periodicShift();
        if (shift >= 0 && crossed(then, now, shift)) {
            cmos[REG_C] |= C_PF;
        }
        if (!updatesHalted() && Math.floorDiv(now, SECOND) != Math.floorDiv(then, SECOND)) {
            cmos[REG_C] |= C_UF;
            if (alarmMatches()) {
                cmos[REG_C] |= C_AF;
            }
        }
        updateIrq();
    }

    private static boolean crossed(long then, long now, int shift) {
        return VirtualClock.ticksAt(now, OSCILLATOR_HZ) >> shift != VirtualClock.ticksAt(then, OSCILLATOR_HZ) >> shift;
    }

    private boolean alarmMatches() {
        refreshTimeRegisters();
        return alarmField(REG_SECONDS_ALARM, REG_SECONDS) && alarmField(REG_MINUTES_ALARM, REG_MINUTES)
                && alarmField(REG_HOURS_ALARM, REG_HOURS);
    }

    private boolean alarmField(int alarm, int time) {
        int a = reg(alarm);
        return (a & ALARM_DONT_CARE) == ALARM_DONT_CARE || a == reg(time);
    }

    private void updateIrq() {
        int c = reg(REG_C) & ~C_IRQF;
        boolean pending = (c & reg(REG_B) & (C_PF | C_AF | C_UF)) != 0;
        cmos[REG_C] = (byte) (c | (pending ? C_IRQF : 0));
        if (pending != irqLevel) {
            irqLevel = pending;
            irq.set(pending);
        }
    }

    /** Arms the timer for the next flag event whose interrupt is enabled (nothing to do otherwise). */
    private void scheduleTimer() {
        int b = reg(REG_B);
        long now = guestNanos();
        long next = Long.MAX_VALUE;
        if (!dividerRunning()) {
            timer.cancel();
            return;
        }
        int shift = periodicShift();
        if ((b & B_PIE) != 0 && shift >= 0) {
            long tick = (VirtualClock.ticksAt(now, OSCILLATOR_HZ) >> shift) + 1 << shift;
            next = VirtualClock.nanosAtTick(tick, OSCILLATOR_HZ);
        }
        if ((b & (B_UIE | B_AIE)) != 0 && (b & B_SET) == 0) {
            next = Math.min(next, (Math.floorDiv(now, SECOND) + 1) * SECOND);
        }
        if (next == Long.MAX_VALUE) {
            timer.cancel();
        } else {
            timer.arm(baseClockNanos + (next - baseGuestNanos));
        }
    }

    private void onTimer() {
        catchUp();
        scheduleTimer();
    }

    // ---- reset ----
    /** The RESET pin: interrupt enables and flags clear; time, divider and CMOS RAM are kept (battery). */
    @Override
    public void reset() {
        catchUp();
        cmos[REG_B] &= (byte) ~(B_PIE | B_AIE | B_UIE | B_SQWE);
        cmos[REG_C] = 0;
        updateIrq();
        scheduleTimer();
    }

    // ---- snapshot state ----
    @Override
    public void saveState(DataOutput out) throws IOException {
        out.write(cmos);
        out.writeByte(index | (nmiMasked ? NMI_MASK : 0));
        out.writeLong(baseGuestNanos);
        out.writeLong(baseClockNanos);
        out.writeLong(flagsCheckedAt);
    }

    @Override
    public void loadState(DataInput in, int version) throws IOException {
        requireStateVersion("mc146818", version);
        byte[] loaded = new byte[CMOS_SIZE];
        in.readFully(loaded);
        int indexByte = in.readUnsignedByte();
        long guest = in.readLong();
        long base = in.readLong();
        long checked = in.readLong();
        if (guest < 0 || (loaded[REG_C] & 0x0f) != 0 || guest / SECOND / 86_400 / 366 > MAX_YEAR - 1970) {
            throw new IOException("mc146818: invalid state");
        }
        System.arraycopy(loaded, 0, cmos, 0, CMOS_SIZE);
        index = indexByte & 0x7f;
        nmiMasked = (indexByte & NMI_MASK) != 0;
        baseGuestNanos = guest;
        baseClockNanos = base;
        flagsCheckedAt = checked;
        updateIrq();
        scheduleTimer();
    }
}
