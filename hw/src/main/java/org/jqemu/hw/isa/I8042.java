package org.jqemu.hw.isa;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.List;
import org.jqemu.hw.core.DeviceState;
import org.jqemu.memory.IrqLine;

/**
 * A minimal Intel 8042 keyboard controller at 0x60 (data) / 0x64 (status, command): the controller
 * commands a BIOS and an OS use (command byte, self tests, enable/disable of both ports, output port
 * with the A20 gate and the reset line, pulse 0xFE), a 16-byte output buffer with IRQ1/IRQ12, and the
 * answers of an attached AT keyboard and PS/2 mouse to their common commands. Scancode translation and
 * mouse movement reports are left to a later input layer, which feeds bytes through {@link #keyboardInput}
 * and {@link #mouseInput}.
 */
public final class I8042 implements ByteIoPorts, DeviceState {
    // ---- registers and constants ----
    public static final int DATA_PORT = 0x60;
    public static final int COMMAND_PORT = 0x64;
    public static final int KEYBOARD_IRQ = 1;
    public static final int MOUSE_IRQ = 12;

    private static final int STATUS_OBF = 0x01;
    private static final int STATUS_SYS = 0x04;
    private static final int STATUS_LAST_WAS_COMMAND = 0x08;
    private static final int STATUS_NOT_INHIBITED = 0x10;
    private static final int STATUS_AUX_OBF = 0x20;

    private static final int CCB_KBD_INT = 0x01;
    private static final int CCB_AUX_INT = 0x02;
    private static final int CCB_SYS = 0x04;
    private static final int CCB_KBD_DISABLED = 0x10;
    private static final int CCB_AUX_DISABLED = 0x20;

    private static final int OUT_RESET_HIGH = 0x01;
    private static final int OUT_A20 = 0x02;
    private static final int OUT_KBD_OBF = 0x10;
    private static final int OUT_AUX_OBF = 0x20;
    private static final int OUT_POWER_ON = 0xcf;

    private static final int CMD_READ_CCB = 0x20;
    private static final int CMD_WRITE_CCB = 0x60;
    private static final int CMD_DISABLE_AUX = 0xa7;
    private static final int CMD_ENABLE_AUX = 0xa8;
    private static final int CMD_TEST_AUX = 0xa9;
    private static final int CMD_SELF_TEST = 0xaa;
    private static final int CMD_TEST_KBD = 0xab;
    private static final int CMD_DISABLE_KBD = 0xad;
    private static final int CMD_ENABLE_KBD = 0xae;
    private static final int CMD_READ_INPUT_PORT = 0xc0;
    private static final int CMD_READ_OUTPUT_PORT = 0xd0;
    private static final int CMD_WRITE_OUTPUT_PORT = 0xd1;
    private static final int CMD_WRITE_KBD_BUFFER = 0xd2;
    private static final int CMD_WRITE_AUX_BUFFER = 0xd3;
    private static final int CMD_WRITE_AUX = 0xd4;
    private static final int CMD_DISABLE_A20 = 0xdd;
    private static final int CMD_ENABLE_A20 = 0xdf;
    private static final int CMD_PULSE_FIRST = 0xf0;

    private static final int SELF_TEST_OK = 0x55;
    private static final int INTERFACE_TEST_OK = 0x00;
    private static final int INPUT_PORT = 0x80;

    private static final int ACK = 0xfa;
    private static final int RESEND = 0xfe;
    private static final int BAT_OK = 0xaa;
    private static final int ECHO = 0xee;
    private static final int KBD_ID_1 = 0xab;
    private static final int KBD_ID_2 = 0x83;
    private static final int MOUSE_ID = 0x00;

    private static final int QUEUE_SIZE = 16;
    private static final int FROM_KBD = 0;
    private static final int FROM_AUX = 0x100;

    // ---- state ----
    private final IrqLine irq1;
    private final IrqLine irq12;
    private final IrqLine a20Out;
    private final Runnable resetRequest;
    /** Output buffer: byte values tagged with their source in bit 8. */
    private final int[] queue = new int[QUEUE_SIZE];
    private int queueHead;
    private int queueCount;
    private int lastRead;
    private int commandByte;
    private int outputPort;
    private int status;
    /** Controller command waiting for its data byte, or 0. */
    private int pendingCommand;
    /** Keyboard command waiting for its parameter byte, or 0. */
    private int pendingKeyboardCommand;
    /** Mouse command waiting for its parameter byte, or 0. */
    private int pendingMouseCommand;

    public I8042(IrqLine irq1, IrqLine irq12, IrqLine a20Out, Runnable resetRequest) {
        this.irq1 = irq1;
        this.irq12 = irq12;
        this.a20Out = a20Out;
        this.resetRequest = resetRequest;
        reset();
    }

    @Override
    public List<PortRange> portRanges() {
        return List.of(new PortRange(DATA_PORT, 1), new PortRange(COMMAND_PORT, 1));
    }

    public boolean a20Enabled() {
        return (outputPort & OUT_A20) != 0;
    }

    /** A byte from the keyboard (a scancode); dropped while the keyboard port is disabled or the buffer full. */
    public void keyboardInput(int b) {
        if ((commandByte & CCB_KBD_DISABLED) == 0) {
            enqueue(b & 0xff, FROM_KBD);
        }
    }

    /** A byte from the mouse; dropped while the auxiliary port is disabled or the buffer full. */
    public void mouseInput(int b) {
        if ((commandByte & CCB_AUX_DISABLED) == 0) {
            enqueue(b & 0xff, FROM_AUX);
        }
    }

    // ---- guest-visible read/write ----
    @Override
    public int inByte(int port) {
        if (port == COMMAND_PORT) {
            return readStatus();
        }
        if (port != DATA_PORT) {
            return 0xff;
        }
        if (queueCount > 0) {
            lastRead = queue[queueHead] & 0xff;
            queueHead = (queueHead + 1) % QUEUE_SIZE;
            queueCount--;
            // Reading empties the output buffer, which drops IRQ1/IRQ12; the next queued byte then fills it
            // and raises the line again. The edge matters: the PIC's IRQ1 and IRQ12 are edge triggered and an
            // OS's handler reads one byte per interrupt (Linux's keyboard probe waits for its ID bytes so).
            irq1.set(false);
            irq12.set(false);
            updateIrqs();
        }
        return lastRead;
    }

    private int readStatus() {
        int value = status | STATUS_NOT_INHIBITED;
        if (queueCount > 0) {
            value |= STATUS_OBF | ((queue[queueHead] & FROM_AUX) != 0 ? STATUS_AUX_OBF : 0);
        }
        return value;
    }

    @Override
    public void outByte(int port, int value) {
        value &= 0xff;
        if (port == COMMAND_PORT) {
            status |= STATUS_LAST_WAS_COMMAND;
            pendingCommand = 0;
            controllerCommand(value);
        } else if (port == DATA_PORT) {
            status &= ~STATUS_LAST_WAS_COMMAND;
            dataWrite(value);
        }
    }

    private void controllerCommand(int command) {
        switch (command) {
            case CMD_READ_CCB -> enqueue(commandByte, FROM_KBD);
            case CMD_WRITE_CCB, CMD_WRITE_OUTPUT_PORT, CMD_WRITE_KBD_BUFFER, CMD_WRITE_AUX_BUFFER, CMD_WRITE_AUX ->
                    pendingCommand = command;
            case CMD_DISABLE_AUX -> commandByte |= CCB_AUX_DISABLED;
            case CMD_ENABLE_AUX -> commandByte &= ~CCB_AUX_DISABLED;
            case CMD_TEST_AUX, CMD_TEST_KBD -> enqueue(INTERFACE_TEST_OK, FROM_KBD);
            case CMD_SELF_TEST -> {
                status |= STATUS_SYS;
                enqueue(SELF_TEST_OK, FROM_KBD);
            }
            case CMD_DISABLE_KBD -> commandByte |= CCB_KBD_DISABLED;
            case CMD_ENABLE_KBD -> commandByte &= ~CCB_KBD_DISABLED;
            case CMD_READ_INPUT_PORT -> enqueue(INPUT_PORT, FROM_KBD);
            case CMD_READ_OUTPUT_PORT -> enqueue(outputPortAsRead(), FROM_KBD);
            case CMD_DISABLE_A20 -> writeOutputPort(outputPort & ~OUT_A20);
            case CMD_ENABLE_A20 -> writeOutputPort(outputPort | OUT_A20);
            default -> {
                if (command >= CMD_PULSE_FIRST && (command & OUT_RESET_HIGH) == 0) {
                    // Pulse output port bits whose command bit is 0; only bit 0 (reset) matters.
                    resetRequest.run();
                }
                // Other commands (controller RAM, vendor specific) are accepted and ignored.
            }
        }
        updateIrqs();
    }

    private int outputPortAsRead() {
        int value = outputPort & ~(OUT_KBD_OBF | OUT_AUX_OBF);
        if (queueCount > 0) {
            value |= (queue[queueHead] & FROM_AUX) != 0 ? OUT_AUX_OBF : OUT_KBD_OBF;
        }
        return value;
    }

    private void dataWrite(int value) {
        int command = pendingCommand;
        pendingCommand = 0;
        switch (command) {
            case CMD_WRITE_CCB -> {
                commandByte = value;
                status = (status & ~STATUS_SYS) | (value & CCB_SYS);
            }
            case CMD_WRITE_OUTPUT_PORT -> writeOutputPort(value);
            case CMD_WRITE_KBD_BUFFER -> enqueue(value, FROM_KBD);
            case CMD_WRITE_AUX_BUFFER -> enqueue(value, FROM_AUX);
            case CMD_WRITE_AUX -> mouseCommand(value);
            default -> keyboardCommand(value);
        }
        updateIrqs();
    }

    private void writeOutputPort(int value) {
        int old = outputPort;
        outputPort = value & 0xff;
        if (((old ^ outputPort) & OUT_A20) != 0) {
            a20Out.set(a20Enabled());
        }
        if ((outputPort & OUT_RESET_HIGH) == 0) {
            outputPort |= OUT_RESET_HIGH; // the reset line is active low; the CPU resets and it floats high
            resetRequest.run();
        }
    }

    /** The attached AT keyboard: acknowledges commands, answers reset, identify and echo. */
    private void keyboardCommand(int value) {
        commandByte &= ~CCB_KBD_DISABLED; // writing to the keyboard enables its interface
        if (pendingKeyboardCommand != 0) {
            boolean querySet = pendingKeyboardCommand == 0xf0 && value == 0;
            pendingKeyboardCommand = 0;
            enqueue(ACK, FROM_KBD);
            if (querySet) {
                enqueue(0x02, FROM_KBD);
            }
            return;
        }
        switch (value) {
            case 0xff -> {
                enqueue(ACK, FROM_KBD);
                enqueue(BAT_OK, FROM_KBD);
            }
            case 0xf2 -> {
                enqueue(ACK, FROM_KBD);
                enqueue(KBD_ID_1, FROM_KBD);
                enqueue(KBD_ID_2, FROM_KBD);
            }
            case 0xee -> enqueue(ECHO, FROM_KBD);
            case 0xed, 0xf3, 0xf0 -> {
                pendingKeyboardCommand = value;
                enqueue(ACK, FROM_KBD);
            }
            case 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd -> enqueue(ACK, FROM_KBD);
            default -> enqueue(RESEND, FROM_KBD);
        }
    }

    /** The attached PS/2 mouse: acknowledges commands, answers reset and identify. */
    private void mouseCommand(int value) {
        if (pendingMouseCommand != 0) {
            pendingMouseCommand = 0;
            enqueue(ACK, FROM_AUX);
            return;
        }
        switch (value) {
            case 0xff -> {
                enqueue(ACK, FROM_AUX);
                enqueue(BAT_OK, FROM_AUX);
                enqueue(MOUSE_ID, FROM_AUX);
            }
            case 0xf2 -> {
                enqueue(ACK, FROM_AUX);
                enqueue(MOUSE_ID, FROM_AUX);
            }
            case 0xe9 -> {
                enqueue(ACK, FROM_AUX);
                enqueue(0x00, FROM_AUX);
                enqueue(0x02, FROM_AUX);
                enqueue(0x64, FROM_AUX);
            }
            case 0xe8, 0xf3 -> {
                pendingMouseCommand = value;
                enqueue(ACK, FROM_AUX);
            }
            default -> enqueue(ACK, FROM_AUX);
        }
    }

    private void enqueue(int value, int source) {
        if (queueCount < QUEUE_SIZE) {
            queue[(queueHead + queueCount) % QUEUE_SIZE] = (value & 0xff) | source;
            queueCount++;
        }
        updateIrqs();
    }

    /** IRQ1 or IRQ12 follows a full output buffer from that port while its interrupt is enabled. */
    private void updateIrqs() {
        boolean full = queueCount > 0;
        boolean aux = full && (queue[queueHead] & FROM_AUX) != 0;
        irq1.set(full && !aux && (commandByte & CCB_KBD_INT) != 0);
        irq12.set(aux && (commandByte & CCB_AUX_INT) != 0);
    }

    // ---- reset ----
    @Override
    public void reset() {
        queueHead = 0;
        queueCount = 0;
        lastRead = 0;
        commandByte = CCB_KBD_INT | CCB_AUX_INT;
        outputPort = OUT_POWER_ON;
        status = STATUS_LAST_WAS_COMMAND;
        pendingCommand = 0;
        pendingKeyboardCommand = 0;
        pendingMouseCommand = 0;
        updateIrqs();
    }

    // ---- snapshot state ----
    @Override
    public void saveState(DataOutput out) throws IOException {
        out.writeByte(queueCount);
        for (int i = 0; i < queueCount; i++) {
            out.writeShort(queue[(queueHead + i) % QUEUE_SIZE]);
        }
        out.writeByte(lastRead);
        out.writeByte(commandByte);
        out.writeByte(outputPort);
        out.writeByte(status);
        out.writeByte(pendingCommand);
        out.writeByte(pendingKeyboardCommand);
        out.writeByte(pendingMouseCommand);
    }

    @Override
    public void loadState(DataInput in, int version) throws IOException {
        requireStateVersion("i8042", version);
        int count = in.readUnsignedByte();
        if (count > QUEUE_SIZE) {
            throw new IOException("i8042: invalid output buffer length " + count);
        }
        int[] entries = new int[count];
        for (int i = 0; i < count; i++) {
            entries[i] = in.readUnsignedShort();
            if ((entries[i] & ~(0xff | FROM_AUX)) != 0) {
                throw new IOException("i8042: invalid output buffer entry");
            }
        }
        int[] bytes = new int[7];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = in.readUnsignedByte();
        }
        System.arraycopy(entries, 0, queue, 0, count);
        queueHead = 0;
        queueCount = count;
        lastRead = bytes[0];
        commandByte = bytes[1];
        outputPort = bytes[2];
        status = bytes[3] & (STATUS_SYS | STATUS_LAST_WAS_COMMAND);
        pendingCommand = bytes[4];
        pendingKeyboardCommand = bytes[5];
        pendingMouseCommand = bytes[6];
        updateIrqs();
    }
}
