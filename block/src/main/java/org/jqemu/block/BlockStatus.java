package org.jqemu.block;

/**
 * One extent of an image as qemu-img map reports it.
 *
 * @param length   bytes in the extent (at least 1)
 * @param allocated the data comes from this layer (not from a backing file)
 * @param zero     the extent reads as zeros
 * @param data     the extent has data in the host file (hostOffset valid)
 * @param hostOffset byte offset in the host file, or -1
 */
public record BlockStatus(long length, boolean allocated, boolean zero, boolean data, long hostOffset) {
}
